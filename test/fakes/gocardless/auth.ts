/**
 * The fake's access and refresh tokens: JWT-shaped (GoCardless's are JWTs with `exp`), expiring
 * under the fake's clock; /token/new/ takes the user secret, /token/refresh/ a live refresh token.
 */
import { createHash } from 'node:crypto';

export interface TokenLifetimes {
  /** Seconds (GoCardless: 86400, a day). */
  access: number;
  /** Seconds (GoCardless: 2592000, 30 days). */
  refresh: number;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export class TokenStore {
  private readonly access = new Map<string, number>();
  private readonly refresh = new Map<string, number>();
  private n = 0;
  /** Every pair and access token issued, for assertions. */
  readonly issued: Array<{ kind: 'new' | 'refresh'; at: string }> = [];

  constructor(private readonly now: () => Date, public lifetimes: TokenLifetimes, private readonly seed: string) {}

  private jwt(kind: 'access' | 'refresh', expSeconds: number): string {
    this.n += 1;
    const jti = createHash('sha256').update(`${this.seed}:${kind}:${this.n}`).digest('hex').slice(0, 32);
    const body = b64({ token_type: kind, exp: expSeconds, jti, id: 4242, secret_id: 'fake' });
    const sig = createHash('sha256').update(`${jti}:${body}`).digest('base64url');
    return `${b64({ alg: 'HS256', typ: 'JWT' })}.${body}.${sig}`;
  }

  private issueAccess(): { access: string; access_expires: number } {
    const nowMs = this.now().getTime();
    const access = this.jwt('access', Math.floor(nowMs / 1000) + this.lifetimes.access);
    this.access.set(access, nowMs + this.lifetimes.access * 1000);
    return { access, access_expires: this.lifetimes.access };
  }

  newPair(): Record<string, unknown> {
    const nowMs = this.now().getTime();
    const refresh = this.jwt('refresh', Math.floor(nowMs / 1000) + this.lifetimes.refresh);
    this.refresh.set(refresh, nowMs + this.lifetimes.refresh * 1000);
    this.issued.push({ kind: 'new', at: this.now().toISOString() });
    return { ...this.issueAccess(), refresh, refresh_expires: this.lifetimes.refresh };
  }

  /** A new access token for a live refresh token, or null. */
  renew(refresh: string): Record<string, unknown> | null {
    const until = this.refresh.get(refresh);
    if (until === undefined || this.now().getTime() >= until) return null;
    this.issued.push({ kind: 'refresh', at: this.now().toISOString() });
    return this.issueAccess();
  }

  valid(access: string): boolean {
    const until = this.access.get(access);
    return until !== undefined && this.now().getTime() < until;
  }

  /** Every access token refused from now on (revoked at GoCardless, say); refresh tokens stay good. */
  revokeAccess(): void {
    this.access.clear();
  }

  revokeAll(): void {
    this.access.clear();
    this.refresh.clear();
  }
}
