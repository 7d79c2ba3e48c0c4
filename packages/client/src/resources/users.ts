import { callInit, unwrap, type Api } from '../call.js';
import { List } from '../pagination.js';
import type { CreateUserParams, ListUsersParams, MutationOptions, RequestOptions, UpdateUserParams, User, UserDeleted } from '../types.js';

/** The application's users: each holds connections to their banks. */
export class Users {
  constructor(private readonly api: Api) {}

  create(params: CreateUserParams = {}, opts?: MutationOptions): Promise<User> {
    return unwrap(this.api.POST('/v1/users', { body: params, ...callInit(opts) }));
  }

  get(userId: string, opts?: RequestOptions): Promise<User> {
    return unwrap(this.api.GET('/v1/users/{userId}', { params: { path: { userId } }, ...callInit(opts) }));
  }

  /** Every user (or those matching `search`), a page of `limit` at a time. */
  list(params: ListUsersParams = {}, opts?: RequestOptions): List<User> {
    return new List((cursor) => unwrap(this.api.GET('/v1/users', { params: { query: { ...params, cursor } }, ...callInit(opts) })));
  }

  update(userId: string, params: UpdateUserParams, opts?: MutationOptions): Promise<User> {
    return unwrap(this.api.PATCH('/v1/users/{userId}', { params: { path: { userId } }, body: params, ...callInit(opts) }));
  }

  /** Deletes the user with every connection and all their data; answers the deletion record. */
  delete(userId: string, opts?: MutationOptions): Promise<UserDeleted> {
    return unwrap(this.api.DELETE('/v1/users/{userId}', { params: { path: { userId } }, ...callInit(opts) }));
  }
}
