/** Who may use the hosted pages (issue 6): client tokens, operators and their dashboard sessions. */
import { index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { ts } from '../columns.js';
import { applications, users } from '../schema.js';

/**
 * Client tokens (issue 6): short-lived bearer tokens for the hosted pages, bound to one user and to
 * scopes (`connect`, `manage`). Stored as SHA-256 of the token, as API keys are.
 */
export const clientTokens = pgTable('client_tokens', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  hash: text('hash').notNull(),
  scopes: text('scopes').array().notNull(),
  /** Where the connect widget may send the user when it is done (set by the app's server when it mints the token). */
  redirectUri: text('redirect_uri'),
  expiresAt: ts('expires_at').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [uniqueIndex('client_tokens_hash_idx').on(t.hash), index('client_tokens_expiry_idx').on(t.expiresAt)]);

/** Operators (issue 6): people who sign in to the dashboard, created with `causeway operators create`. */
export const operators = pgTable('operators', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  email: text('email').notNull(),
  /** scrypt: `scrypt$N$r$p$salt$hash` (base64). */
  passwordHash: text('password_hash').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [uniqueIndex('operators_email_idx').on(t.email)]);

/** A dashboard sign-in: a bearer token (hashed) that acts for the operator's application until it expires. */
export const operatorSessions = pgTable('operator_sessions', {
  id: text('id').primaryKey(),
  operatorId: text('operator_id').notNull().references(() => operators.id, { onDelete: 'cascade' }),
  hash: text('hash').notNull(),
  expiresAt: ts('expires_at').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [uniqueIndex('operator_sessions_hash_idx').on(t.hash)]);

/**
 * Failed operator sign-ins (issue 11 item 8), counted per email (a keyed hash, never the address)
 * and per client address, shared by every API process: `key` is `email:<fingerprint>` or `ip:<address>`.
 */
export const signInFailures = pgTable('sign_in_failures', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStartedAt: ts('window_started_at').notNull(),
  blockedUntil: ts('blocked_until'),
}, (t) => [index('sign_in_failures_window_idx').on(t.windowStartedAt)]);
