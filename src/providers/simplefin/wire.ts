/**
 * SimpleFIN's Account Set, as GET /accounts answers it (protocol v1.0.7 and the v2 draft): checked
 * once here, so the rest of the adapter reads typed data. Lenient where bridges differ (amounts as
 * numeric strings or numbers, `errors` of v1 beside or instead of v2's structured `errlist`, the
 * v1 `org` object or v2's `conn_id` with a `connections` list); strict where a wrong value would
 * store wrong money (amounts, timestamps, ids).
 */
import { z } from 'zod';

const numeric = z.union([z.string(), z.number()]);
const epoch = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);
const id = z.union([z.string().min(1), z.number().transform(String)]);

const transactionSchema = z.object({
  id,
  posted: epoch,
  amount: numeric,
  description: z.string().nullish(),
  payee: z.string().nullish(),
  memo: z.string().nullish(),
  transacted_at: epoch.nullish(),
  pending: z.boolean().nullish(),
  extra: z.record(z.string(), z.unknown()).nullish(),
});

const orgSchema = z.object({
  domain: z.string().nullish(),
  'sfin-url': z.string().nullish(),
  name: z.string().nullish(),
  url: z.string().nullish(),
  id: z.string().nullish(),
});

const accountSchema = z.object({
  org: orgSchema.nullish(),
  conn_id: z.string().nullish(),
  conn_name: z.string().nullish(),
  id,
  name: z.string(),
  currency: z.string().min(1),
  balance: numeric,
  'available-balance': numeric.nullish(),
  'balance-date': epoch,
  transactions: z.array(transactionSchema).nullish(),
  extra: z.record(z.string(), z.unknown()).nullish(),
});

const errorSchema = z.object({
  code: z.string(),
  msg: z.string().nullish(),
  message: z.string().nullish(),
  conn_id: z.string().nullish(),
  account_id: z.string().nullish(),
});

const connectionSchema = z.object({
  conn_id: z.string(),
  name: z.string().nullish(),
  org_id: z.string().nullish(),
  org_name: z.string().nullish(),
  org_url: z.string().nullish(),
});

export const accountSetSchema = z.object({
  errors: z.array(z.string()).nullish(),
  errlist: z.array(errorSchema).nullish(),
  connections: z.array(connectionSchema).nullish(),
  accounts: z.array(accountSchema),
});

export type SfinAccountSet = z.infer<typeof accountSetSchema>;
export type SfinAccount = z.infer<typeof accountSchema>;
export type SfinTransaction = z.infer<typeof transactionSchema>;
export type SfinError = z.infer<typeof errorSchema>;

/** The Account Set in a body, or null when the body is not one (an HTML page from a proxy, cut-off JSON). */
export function parseAccountSet(body: string): SfinAccountSet | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = accountSetSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/**
 * Text from the bridge (error strings, descriptions), safe to keep and show: the protocol asks apps
 * to sanitise it. Control characters go, whitespace collapses, and it is cut to `max` characters.
 */
export function cleanText(text: string | null | undefined, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = (text ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
