/**
 * The rows of a bulk import (services/imports.ts), from a CSV file or an API request, checked
 * before anything is stored: a bad row is named by its number, never dropped.
 *
 *   user,token[,institutionId]        one Item a line; the header line is optional
 *   meld-user-1,access-sandbox-…      user: a usr_… id, the application's external id, or an email
 *   ana@example.com,"access-…",ins_plaid_109508
 *
 * A row's number is its line in the file (the first line is 1, a header included), or its place in
 * the request's `rows` from 1, so a summary points at what the operator can open and fix.
 */

/** Rows one batch may hold: 10,000 Items take about 17 minutes at the default pace of 10 a second. */
export const MAX_IMPORT_ROWS = 10_000;
/** The longest values a row may carry (an email is at most 320 characters; Causeway's institution ids are short). */
export const IMPORT_LIMITS = { user: 320, accessToken: 2048, institutionId: 64 } as const;

export interface ImportRowInput {
  row: number;
  user: string;
  accessToken: string;
  institutionId: string | null;
}

export interface RowProblem { row: number; message: string }

const HEADER_USER = /^(user|users|user_?id|user_?ref|email|external_?id)$/i;
const HEADER_TOKEN = /^(token|access_?token|provider_?token|item_?token)$/i;
const INSTITUTION_ID = /^[A-Za-z0-9_-]+$/;

/** A row's problem, or null: the same rules for a CSV line and a JSON row. */
export function rowProblem(r: Omit<ImportRowInput, 'row'>): string | null {
  if (r.user === '') return 'no user (a usr_… id, your external id or an email)';
  if (r.accessToken === '') return 'no access token';
  if (/[\u0000-\u001f\u007f]/.test(r.user)) return 'the user contains a line break or another control character';
  if (r.user.length > IMPORT_LIMITS.user) return `the user is longer than ${IMPORT_LIMITS.user} characters`;
  if (r.accessToken.length > IMPORT_LIMITS.accessToken) return `the access token is longer than ${IMPORT_LIMITS.accessToken} characters`;
  if (/\s/.test(r.accessToken)) return 'the access token contains spaces';
  if (r.institutionId !== null && (r.institutionId.length > IMPORT_LIMITS.institutionId || !INSTITUTION_ID.test(r.institutionId))) {
    return 'the institution id is not one (letters, digits, _ and -, as GET /v1/institutions gives them)';
  }
  return null;
}

/**
 * Records of RFC 4180 CSV: commas, double quotes around a field that holds commas, quotes ("") or
 * line breaks, CRLF or LF. Each record comes with the line it starts on.
 */
function records(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let touched = false;
  const endRecord = () => {
    cells.push(cell);
    if (touched || cells.length > 1 || cell !== '') out.push({ line: start, cells });
    cells = [];
    cell = '';
    touched = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false;
      else { if (c === '\n') line++; cell += c; }
      continue;
    }
    if (c === '"' && cell.trim() === '') { quoted = true; cell = ''; touched = true; } else if (c === ',') { cells.push(cell); cell = ''; touched = true; } else if (c === '\r' && text[i + 1] === '\n') { /* the \n ends it */ } else if (c === '\n' || c === '\r') {
      endRecord();
      line++;
      start = line;
    } else cell += c;
  }
  if (quoted) out.push({ line: start, cells: [...cells, cell, '\u0000unterminated'] });
  else endRecord();
  return out;
}

/** The rows of a CSV file (text), with a problem for each line that is not a row; blank lines are passed over. */
export function parseImportCsv(text: string): { rows: ImportRowInput[]; problems: RowProblem[]; header: boolean } {
  const rows: ImportRowInput[] = [];
  const problems: RowProblem[] = [];
  let header = false;
  let first = true;
  for (const rec of records(text.replace(/^\uFEFF/, ''))) {
    const cells = rec.cells.map((c) => c.trim());
    if (cells.every((c) => c === '')) continue;
    const isFirst = first;
    first = false;
    if (cells.at(-1) === '\u0000unterminated') {
      problems.push({ row: rec.line, message: 'a quoted field is not closed (a " is missing)' });
      continue;
    }
    if (isFirst && (HEADER_USER.test(cells[0] ?? '') || HEADER_TOKEN.test(cells[1] ?? ''))) {
      header = true;
      continue;
    }
    if (cells.length < 2 || cells.length > 3) {
      problems.push({ row: rec.line, message: `has ${cells.length} column${cells.length === 1 ? '' : 's'}; expected user,token or user,token,institutionId` });
      continue;
    }
    const row = { row: rec.line, user: cells[0]!, accessToken: cells[1]!, institutionId: cells[2] ? cells[2] : null };
    const problem = rowProblem(row);
    if (problem) problems.push({ row: rec.line, message: problem });
    else rows.push(row);
  }
  return { rows, problems, header };
}
