/**
 * Named types for the API's resources, read from the generated `paths` by route and status rather
 * than by component name: a path is part of the API's contract, a schema's name in the document is
 * not, so renaming a component never breaks this package.
 */
import type { paths, webhooks } from './generated/schema.js';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** The JSON body a route answers with the given status. */
export type ResponseBody<P extends keyof paths, M extends Method, S extends number> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? JsonOf<R[S]> : never) : never;
/** The JSON body a route takes. */
export type RequestBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;
/** The query parameters a route takes. */
export type Query<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

/** A page of a list: `data`, and `nextCursor` (null on the last page). */
export interface Page<T> { data: T[]; nextCursor: string | null }
type ItemOf<T> = T extends { data: (infer I)[] } ? I : never;

export type User = ResponseBody<'/v1/users/{userId}', 'get', 200>;
export type CreateUserParams = NonNullable<RequestBody<'/v1/users', 'post'>>;
export type UpdateUserParams = RequestBody<'/v1/users/{userId}', 'patch'>;
export type ListUsersParams = Omit<Query<'/v1/users', 'get'>, 'cursor'>;
export type UserDeleted = ResponseBody<'/v1/users/{userId}', 'delete', 200>;

export type Connection = ResponseBody<'/v1/users/{userId}/connections/{connectionId}', 'get', 200>;
/** What creating, refreshing or repairing a connection answers: the connection and its job (if one started). */
export type ConnectionWithJob = ResponseBody<'/v1/users/{userId}/connections', 'post', 202>;
export type CreateConnectionParams = RequestBody<'/v1/users/{userId}/connections', 'post'>;
export type RefreshConnectionParams = NonNullable<RequestBody<'/v1/users/{userId}/connections/{connectionId}/refresh', 'post'>>;
export type RepairConnectionParams = NonNullable<RequestBody<'/v1/users/{userId}/connections/{connectionId}/repair', 'post'>>;
export type ConnectionUnlinked = ResponseBody<'/v1/users/{userId}/connections/{connectionId}/unlink', 'post', 200>;
export type ConnectionPurged = ResponseBody<'/v1/users/{userId}/connections/{connectionId}/purge', 'post', 200>;
export type DeleteConnectionParams = Query<'/v1/users/{userId}/connections/{connectionId}', 'delete'>;
export type ConnectionDeleted = ResponseBody<'/v1/users/{userId}/connections/{connectionId}', 'delete', 200>;

export type Job = ResponseBody<'/v1/jobs/{jobId}', 'get', 200>;
export type JobStatus = Job['status'];

export type Account = ResponseBody<'/v1/users/{userId}/accounts/{accountId}', 'get', 200>;
export type ListAccountsParams = Query<'/v1/users/{userId}/accounts', 'get'>;
export type Transaction = ItemOf<ResponseBody<'/v1/users/{userId}/transactions', 'get', 200>>;
export type ListTransactionsParams = Omit<Query<'/v1/users/{userId}/transactions', 'get'>, 'cursor'>;
export type TransactionChanges = ResponseBody<'/v1/users/{userId}/transactions/sync', 'get', 200>;
export type SyncTransactionsParams = Query<'/v1/users/{userId}/transactions/sync', 'get'>;

export type WebhookEndpoint = ResponseBody<'/v1/webhook-endpoints/{endpointId}', 'get', 200>;
export type CreateWebhookEndpointParams = RequestBody<'/v1/webhook-endpoints', 'post'>;
export type UpdateWebhookEndpointParams = RequestBody<'/v1/webhook-endpoints/{endpointId}', 'patch'>;
export type WebhookDelivery = ItemOf<ResponseBody<'/v1/webhook-endpoints/{endpointId}/deliveries', 'get', 200>>;

/** An event as GET /v1/events/{eventId} shows it. */
export type Event = ResponseBody<'/v1/events/{eventId}', 'get', 200>;

/** The body of each event type the document's `webhooks` section describes, by type. */
type WebhookBodies = {
  [K in keyof webhooks]: webhooks[K] extends { post?: infer Op } ? (NonNullable<Op> extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never) : never
}[keyof webhooks];

/**
 * A verified webhook delivery's body: the union of the event types the document describes (narrow
 * it on `type`), or the event as the events API shows it where the document describes none.
 */
export type WebhookEvent = [WebhookBodies] extends [never] ? Event : WebhookBodies;

/**
 * The problem codes the document lists (from any route's 404: every route can answer one), for
 * autocompletion; a code added to the server later still arrives as a string.
 */
type ProblemOf<R> = R extends { content: { 'application/problem+json': infer B } } ? B : R extends { content: { 'application/json': infer B } } ? B : never;
type DocumentedCode = ProblemOf<NonNullable<paths['/v1/users/{userId}']['get']>['responses'][404]> extends { code: infer C } ? C : never;
export type ErrorCode = [DocumentedCode] extends [never] ? string : DocumentedCode extends string ? DocumentedCode : string;

/** Options every call takes. */
export interface RequestOptions { signal?: AbortSignal }
/** Options a call that changes something takes: an Idempotency-Key of your own, or one generated per call. */
export interface MutationOptions extends RequestOptions { idempotencyKey?: string }
