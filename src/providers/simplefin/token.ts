/**
 * What a user gives Causeway for SimpleFIN, read and checked before any request:
 *
 *   setup token  = base64 (standard or URL-safe) of a claim URL: https://bridge/simplefin/claim/<one-time code>
 *   access URL   = what the claim answers: https://<user>:<password>@bridge/simplefin (Basic credentials inside)
 *
 * Both are secrets (the claim URL's path works once for whoever posts it first; the access URL reads
 * the user's accounts), so no message here repeats them: only the host is ever named.
 */
import { ProviderError } from '../types.js';

export interface AccessParts {
  /** The access URL without its credentials and without a trailing slash: requests go to `${root}/accounts`. */
  root: string;
  /** `Basic …`, from the URL's user info. */
  authorization: string;
  host: string;
}

const NOT_A_TOKEN = 'This is not a SimpleFIN setup token: paste the whole token your SimpleFIN bridge showed when you added an app (a long line of letters and digits).';

function notAToken(detail?: string): ProviderError {
  return new ProviderError('invalid_credentials', detail ? `${NOT_A_TOKEN} ${detail}` : NOT_A_TOKEN, false, 'NOT_A_SETUP_TOKEN');
}

/** Plain http is for a bridge on the operator's own network (and tests): allowed with the private-address switch. */
function schemeAllowed(url: URL, allowPrivate: boolean): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && allowPrivate);
}

/**
 * The claim URL inside a pasted setup token. Whitespace (a token pasted across lines) is dropped;
 * both base64 alphabets are read. Anything else is invalid_credentials NOT_A_SETUP_TOKEN.
 */
export function claimUrlOf(pasted: string, allowPrivate: boolean): URL {
  const compact = pasted.replace(/\s+/g, '');
  if (compact === '') throw notAToken();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) throw notAToken();
  const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8').trim();
  // A URL is printable ASCII; random bytes that happen to be base64 are not.
  if (!/^[\x21-\x7e]+$/.test(decoded)) throw notAToken();
  let url: URL;
  try {
    url = new URL(decoded);
  } catch {
    throw notAToken();
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw notAToken();
  if (!schemeAllowed(url, allowPrivate)) throw notAToken('Its address must use https.');
  if (url.username || url.password) throw notAToken();
  return url;
}

/** Whether what was pasted looks like an access URL (already claimed elsewhere) rather than a setup token. */
export function looksLikeAccessUrl(pasted: string): boolean {
  return /^https?:\/\/[^/?#\s]*:[^/?#\s]*@/i.test(pasted.trim());
}

/**
 * An access URL checked and split: http(s) (https unless private addresses are allowed), with a
 * user name and a password. `onBad` makes what to throw when it is not one (`https`: it would be,
 * over https).
 */
export function accessPartsOf(access: string, allowPrivate: boolean, onBad: (why: 'form' | 'https') => ProviderError): AccessParts {
  let url: URL;
  try {
    url = new URL(access.trim());
  } catch {
    throw onBad('form');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw onBad('form');
  if (!url.username || !url.password || url.search || url.hash) throw onBad('form');
  if (!schemeAllowed(url, allowPrivate)) throw onBad('https');
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return {
    root: url.href.replace(/\/+$/, ''),
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    host: url.host,
  };
}

/** Pieces of a secret that must never appear in a message: the whole, its credentials, its path. */
export function secretPieces(url: string): string[] {
  const pieces = [url.trim()];
  try {
    const u = new URL(url.trim());
    if (u.username) pieces.push(u.username, decodeURIComponent(u.username));
    if (u.password) pieces.push(u.password, decodeURIComponent(u.password));
    if (u.pathname.length > 1) pieces.push(u.pathname);
  } catch { /* not a URL: the whole is enough */ }
  return pieces.filter((p) => p.length >= 4);
}

/** A message with every secret piece replaced. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}
