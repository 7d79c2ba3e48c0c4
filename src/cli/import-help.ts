/**
 * import's help, apart from the command so --help loads nothing that reaches the database.
 * IMPORT_PACE repeats services/imports.ts DEFAULT_PACE (test/unit/cli.test.ts holds them equal).
 */
import { MAX_IMPORT_ROWS } from '../domain/import-rows.js';
import { count } from './shared.js';

export const IMPORT_PACE = { rowsPerSecond: 10, concurrency: 4 } as const;

/** The long help after the options (index.ts prints it for import --help and after a mistake). */
export const IMPORT_HELP = `  Imports existing provider links (Plaid access tokens, say) as connections, one a line:
      user,token[,institutionId]
  user: the application's user id (usr_…), your external id for the user, or an email; a user not
  found is created with that external id (or that email). token: the provider's access token.
  institutionId: optional, Causeway's id as \`institutions list\` shows it (Plaid tells it from the
  token). A header line is optional; blank lines are passed over. At most ${count(MAX_IMPORT_ROWS)} rows a file.

  The rows run in this process, --rate a second (default ${IMPORT_PACE.rowsPerSecond}; 0: no limit), --concurrency at
  once (default ${IMPORT_PACE.concurrency}); the provider's rate limits are waited out. Progress goes to stderr (a
  bar on a terminal, a line every 100 rows otherwise); the summary goes to stdout: imported,
  skipped (already imported for that user), failed, and each failed row's line, user and reason.

  Stopped or killed, run the same command again: it resumes the unfinished import of the same
  file and never makes a connection twice. Run again after it completed, it makes a new import
  whose rows already imported are skipped. The connections' first syncs run in the worker
  (causeway start); with the embedded database, stop the server while the import runs.
  Exit code: 0 when the import completed (failed rows included: the summary lists them), 2 for a
  mistake in the command, 1 when it could not run or stopped early. Also: POST /v1/imports.`;

