/**
 * The SimpleFIN fake's state: bridge users, their setup tokens (claimable once), the apps' access
 * credentials, and each user's banks, accounts and transactions, in SimpleFIN's wire shapes.
 */
import { randomBytes } from 'node:crypto';

export interface FakeOrg { domain: string; name: string; 'sfin-url': string; url?: string; id?: string }

export interface FakeTransaction {
  id: string;
  /** Unix seconds; 0 while pending (as some bridges send). */
  posted: number;
  amount: string;
  description: string;
  payee?: string;
  memo?: string;
  transacted_at?: number;
  pending?: boolean;
  extra?: Record<string, unknown>;
}

export interface FakeAccount {
  org: FakeOrg;
  id: string;
  name: string;
  currency: string;
  balance: string;
  'available-balance'?: string;
  'balance-date': number;
  transactions: FakeTransaction[];
}

/** A v2 structured error. */
export interface FakeErrlistEntry { code: string; msg: string; conn_id?: string; account_id?: string }

export interface FakeUser {
  id: string;
  accounts: FakeAccount[];
  /** v1 `errors` strings every answer carries. */
  errors: string[];
  /** v2 `errlist` entries; sent only when set. */
  errlist: FakeErrlistEntry[] | null;
  /** Subscription lapsed: GET /accounts answers 402. */
  paymentRequired: boolean;
}

export interface FakeApp { user: string; username: string; password: string; revoked: boolean }

export const EXAMPLE_BANK: FakeOrg = { domain: 'examplebank.test', name: 'Example Bank', 'sfin-url': 'https://sfin.examplebank.test', id: 'ORG-bank' };
export const EXAMPLE_CARDS: FakeOrg = { domain: 'examplecards.test', name: 'Example Card Co', 'sfin-url': 'https://sfin.examplecards.test', id: 'ORG-cards' };

const DAY = 86_400;

/**
 * A new user's banks: a checking and a savings account at Example Bank, a credit card at Example
 * Card Co. Transactions over the last 60 days, one 120 days back (beyond one request's 90 days),
 * and two pending ones: one with `posted: 0`, one with `pending: true` and a posting date.
 */
export function seedAccounts(user: string, nowSec: number): FakeAccount[] {
  const at = (daysAgo: number) => nowSec - daysAgo * DAY;
  return [
    {
      org: EXAMPLE_BANK, id: `ACT-${user}-chk`, name: 'Everyday Checking ...1234', currency: 'USD',
      balance: '2543.10', 'available-balance': '2443.10', 'balance-date': at(0),
      transactions: [
        { id: 'TRN-1', posted: at(120), amount: '-12.00', description: 'OLD FEE', transacted_at: at(121) },
        { id: 'TRN-2', posted: at(40), amount: '2500.00', description: 'PAYROLL ACME', payee: 'Acme Corp' },
        { id: 'TRN-3', posted: at(10), amount: '-54.21', description: 'GROCERY 123', payee: 'Corner Grocery', transacted_at: at(11) },
        { id: 'TRN-4', posted: 0, amount: '-19.99', description: 'STREAMING SVC', payee: 'Streamflix', transacted_at: at(1), pending: true },
      ],
    },
    {
      org: EXAMPLE_BANK, id: `ACT-${user}-sav`, name: 'High Yield Savings 5678', currency: 'USD',
      balance: '10000.00', 'balance-date': at(0),
      transactions: [{ id: 'TRN-1', posted: at(30), amount: '12.34', description: 'INTEREST' }],
    },
    {
      org: EXAMPLE_CARDS, id: `ACT-${user}-card`, name: 'Rewards Visa (4321)', currency: 'USD',
      balance: '-312.45', 'available-balance': '4687.55', 'balance-date': at(0),
      transactions: [
        { id: 'TRN-9', posted: at(5), amount: '-100.00', description: 'HARDWARE STORE', payee: 'Hammer & Co', extra: { category: 'Home' } },
        { id: 'TRN-10', posted: at(0) + 2 * DAY, amount: '-7.50', description: 'COFFEE', payee: 'Bean There', transacted_at: at(0), pending: true },
      ],
    },
  ];
}

export class BridgeWorld {
  readonly users = new Map<string, FakeUser>();
  /** Claim code → user, and whether it was claimed. */
  readonly claims = new Map<string, { user: string; claimed: boolean }>();
  readonly apps: FakeApp[] = [];
  private n = 0;

  constructor(private readonly nowSec: () => number) {}

  user(id?: string): FakeUser {
    const name = id ?? `user${++this.n}`;
    let u = this.users.get(name);
    if (!u) {
      u = { id: name, accounts: seedAccounts(name, this.nowSec()), errors: [], errlist: null, paymentRequired: false };
      this.users.set(name, u);
    }
    return u;
  }

  newClaimCode(user: string): string {
    const code = randomBytes(18).toString('base64url');
    this.claims.set(code, { user, claimed: false });
    return code;
  }

  /** The claim: once. A second claim of the same code, or an unknown code, is refused (the protocol's 403). */
  claim(code: string): FakeApp | null {
    const c = this.claims.get(code);
    if (!c || c.claimed) return null;
    c.claimed = true;
    const app = { user: c.user, username: `app${this.apps.length + 1}`, password: randomBytes(12).toString('hex'), revoked: false };
    this.apps.push(app);
    return app;
  }

  /** The app whose Basic credentials these are, unless unknown or revoked. */
  authenticate(header: string | undefined): FakeApp | null {
    const m = /^Basic\s+(.+)$/i.exec(header ?? '');
    if (!m) return null;
    const [username, password] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
    const app = this.apps.find((a) => a.username === username && a.password === password);
    return app && !app.revoked ? app : null;
  }

  account(accountId: string): FakeAccount {
    for (const u of this.users.values()) {
      const a = u.accounts.find((x) => x.id === accountId);
      if (a) return a;
    }
    throw new Error(`no account ${accountId} at the fake bridge`);
  }
}
