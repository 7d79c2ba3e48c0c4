import { callInit, unwrap, type Api } from '../call.js';
import { List } from '../pagination.js';
import type {
  Connection, ConnectionDeleted, ConnectionPurged, ConnectionUnlinked, ConnectionWithJob, CreateConnectionParams, DeleteConnectionParams,
  Job, MutationOptions, RefreshConnectionParams, RepairConnectionParams, RequestOptions,
} from '../types.js';

/** A user's connections to their banks, and what can be done to them. */
export class Connections {
  constructor(private readonly api: Api) {}

  /**
   * web: answers with the first job (wait for it with `client.jobs.waitForJob`). openbanking and
   * hosted: answers with `link.url`, where to send the user; the job starts when they come back.
   */
  create(userId: string, params: CreateConnectionParams, opts?: MutationOptions): Promise<ConnectionWithJob> {
    return unwrap(this.api.POST('/v1/users/{userId}/connections', { params: { path: { userId } }, body: params, ...callInit(opts) }));
  }

  get(userId: string, connectionId: string, opts?: RequestOptions): Promise<Connection> {
    return unwrap(this.api.GET('/v1/users/{userId}/connections/{connectionId}', { params: { path: { userId, connectionId } }, ...callInit(opts) }));
  }

  list(userId: string, params: { limit?: number } = {}, opts?: RequestOptions): List<Connection> {
    return new List((cursor) => unwrap(this.api.GET('/v1/users/{userId}/connections', {
      params: { path: { userId }, query: { ...params, cursor } }, ...callInit(opts),
    })));
  }

  /** A new job, or the one already queued or running for this connection. */
  refresh(userId: string, connectionId: string, params?: RefreshConnectionParams, opts?: MutationOptions): Promise<ConnectionWithJob> {
    return unwrap(this.api.POST('/v1/users/{userId}/connections/{connectionId}/refresh', {
      params: { path: { userId, connectionId } }, body: params ?? {}, ...callInit(opts),
    }));
  }

  /** web: new credentials, and the repair job. openbanking and hosted: a new link for the user. */
  repair(userId: string, connectionId: string, params?: RepairConnectionParams, opts?: MutationOptions): Promise<ConnectionWithJob> {
    return unwrap(this.api.POST('/v1/users/{userId}/connections/{connectionId}/repair', {
      params: { path: { userId, connectionId } }, body: params ?? {}, ...callInit(opts),
    }));
  }

  /** Revokes the provider's access; the data stays readable, and repair links it again. */
  unlink(userId: string, connectionId: string, opts?: MutationOptions): Promise<ConnectionUnlinked> {
    return unwrap(this.api.POST('/v1/users/{userId}/connections/{connectionId}/unlink', { params: { path: { userId, connectionId } }, ...callInit(opts) }));
  }

  /** Deletes the data the connection brought; the connection stays. */
  purge(userId: string, connectionId: string, opts?: MutationOptions): Promise<ConnectionPurged> {
    return unwrap(this.api.POST('/v1/users/{userId}/connections/{connectionId}/purge', { params: { path: { userId, connectionId } }, ...callInit(opts) }));
  }

  /** Irreversible. `{ data: 'purge' }` deletes the data too; by default it stays readable. */
  delete(userId: string, connectionId: string, params: DeleteConnectionParams = {}, opts?: MutationOptions): Promise<ConnectionDeleted> {
    return unwrap(this.api.DELETE('/v1/users/{userId}/connections/{connectionId}', {
      params: { path: { userId, connectionId }, query: params }, ...callInit(opts),
    }));
  }

  /** The connection's jobs, newest first. */
  jobs(userId: string, connectionId: string, params: { limit?: number } = {}, opts?: RequestOptions): List<Job> {
    return new List((cursor) => unwrap(this.api.GET('/v1/users/{userId}/connections/{connectionId}/jobs', {
      params: { path: { userId, connectionId }, query: { ...params, cursor } }, ...callInit(opts),
    })));
  }
}
