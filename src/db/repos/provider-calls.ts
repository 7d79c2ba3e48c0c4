/** The provider call journal (ENGINEERING.md habit 4): written here, read by repos/health.ts. */
import type { Db } from '../open.js';
import { providerCalls } from '../schema.js';

/** One journalled provider call, as written. */
export type ProviderCallInsert = typeof providerCalls.$inferInsert;

/** Writes calls in one statement; nothing when there are none. */
export async function insertProviderCalls(db: Db, rows: ProviderCallInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insert(providerCalls).values(rows);
}
