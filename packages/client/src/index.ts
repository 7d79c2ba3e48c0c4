export { Causeway, type CausewayOptions } from './client.js';
export { CausewayError, type Problem } from './errors.js';
export { List } from './pagination.js';
export { JobTimeoutError, SETTLED_JOB_STATUSES, type WaitForJobOptions } from './resources/jobs.js';
export { MAX_RETRY_AFTER_MS, type Fetch } from './retry.js';
export { verifyWebhook, WebhookVerificationError, type WebhookHeaders } from './webhooks.js';
export type * from './types.js';
export type { components, paths, webhooks } from './generated/schema.js';
