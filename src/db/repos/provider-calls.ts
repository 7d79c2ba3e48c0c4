/** The provider call journal (ENGINEERING.md habit 4): written here, read by repos/health.ts. */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../open.js';
import { providerCalls } from '../schema.js';

/** One journalled provider call, as written. */
export type ProviderCallInsert = typeof providerCalls.$inferInsert;

/** Writes calls in one statement; nothing when there are none. */
export async function insertProviderCalls(db: Db, rows: ProviderCallInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(providerCalls).values(rows);
}

/**
 * The insert of `calls` for a CTE of a bigger statement (a job write that journals its run's
 * calls): the rows travel as one JSON parameter, so the statement's text is the same whatever
 * their number (one prepared statement) and nothing is built per row in Node.
 */
export function journalInsert(calls: ProviderCallInsert[]): SQL {
  return journalInsertOf(sql`${JSON.stringify(calls)}`);
}

/** journalInsert with the calls' JSON (JSON.stringify of the calls) as any SQL value: a prepared statement's placeholder. */
export function journalInsertOf(json: SQL): SQL {
  // A key left out (undefined) reads as null; a Date travels as its ISO string.
  return sql`insert into provider_calls (id, application_id, connection_id, job_id, operation, outcome, error_code, provider_code,
      provider, request_id, retry_after_seconds, duration_ms, created_at)
    select c."id", c."applicationId", c."connectionId", c."jobId", c."operation", c."outcome", c."errorCode", c."providerCode",
      c."provider", c."requestId", c."retryAfterSeconds", c."durationMs", c."createdAt"
    from json_to_recordset(${json}::json) as c("id" text, "applicationId" text, "connectionId" text, "jobId" text,
      "operation" text, "outcome" text, "errorCode" text, "providerCode" text, "provider" text, "requestId" text,
      "retryAfterSeconds" int, "durationMs" int, "createdAt" timestamptz)`;
}
