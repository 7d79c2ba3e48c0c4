/**
 * The fake's institution catalogue: a few fixed institutions tests can name (Plaid's own sandbox
 * ids and names) and 2,500 generated ones, `ins_1`..`ins_2500`, deterministic from a seed so
 * search, paging and logo tests see the same list on every run.
 *
 * Fixed ones:
 *   ins_109508 First Platypus Bank      US  non-OAuth  checking, savings, credit card; logo + colour
 *   ins_109509 First Gingham Credit Union US non-OAuth, no logo
 *   ins_109512 Houndstooth Bank         US  non-OAuth  as above plus a JPY savings account
 *   ins_117650 Royal Bank of Plaid      GB  OAuth      GBP accounts, consent expires after 90 days
 *   ins_fake_noidentity Plain Savings Bank US  transactions only (no identity, no auth)
 */
import { deflateSync } from 'node:zlib';
import { rng } from './random.js';

export type AccountKind = 'checking' | 'savings' | 'credit card' | 'money market';

export interface AccountTemplate {
  kind: AccountKind;
  name: string;
  officialName: string | null;
  mask: string;
  currency: string;
}

export interface FakeInstitution {
  institution_id: string;
  name: string;
  products: string[];
  country_codes: string[];
  url: string | null;
  primary_color: string | null;
  logo: string | null;
  routing_numbers: string[];
  dtc_numbers: string[];
  oauth: boolean;
  /** Accounts a new Item at this institution starts with. */
  accounts: AccountTemplate[];
  /** Whether Items here carry a consent expiry (UK/EU OAuth), in days. */
  consentDays: number | null;
}

const CORE_PRODUCTS = ['assets', 'auth', 'balance', 'identity', 'transactions'];

function usAccounts(): AccountTemplate[] {
  return [
    { kind: 'checking', name: 'Plaid Checking', officialName: 'Plaid Gold Standard 0% Interest Checking', mask: '0000', currency: 'USD' },
    { kind: 'savings', name: 'Plaid Saving', officialName: 'Plaid Silver Standard 0.1% Interest Saving', mask: '1111', currency: 'USD' },
    { kind: 'credit card', name: 'Plaid Credit Card', officialName: 'Plaid Diamond 12.5% APR Interest Credit Card', mask: '3333', currency: 'USD' },
  ];
}

function localAccounts(currency: string, gb: boolean): AccountTemplate[] {
  return [
    { kind: 'checking', name: gb ? 'Current Account' : 'Everyday Account', officialName: null, mask: '0000', currency },
    { kind: 'savings', name: gb ? 'Easy Saver' : 'Savings Account', officialName: null, mask: '1111', currency },
    { kind: 'credit card', name: 'Credit Card', officialName: null, mask: '3333', currency },
  ];
}

const CURRENCY: Record<string, string> = { US: 'USD', CA: 'CAD', GB: 'GBP' };

/** A valid 8×8 PNG of one colour, base64 (as Plaid sends logos, without a data: prefix). */
export function solidPng(hex: string): string {
  const cached = PNGS.get(hex);
  if (cached) return cached;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const row = Buffer.from([0, ...Array.from({ length: 8 }, () => [r!, g!, b!]).flat()]);
  const raw = Buffer.concat(Array.from({ length: 8 }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0); ihdr.writeUInt32BE(8, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]).toString('base64');
  PNGS.set(hex, png);
  return png;
}

const PNGS = new Map<string, string>();

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A 9-digit ABA routing number with a valid checksum. */
function routingNumber(seed: number): string {
  const d = String(11_000_000 + (seed * 7919) % 80_000_000).padStart(8, '0').slice(0, 8).split('').map(Number);
  const w = [3, 7, 1, 3, 7, 1, 3, 7];
  const sum = d.reduce((s, x, i) => s + x * w[i]!, 0);
  return d.join('') + String((10 - (sum % 10)) % 10);
}

const FIXED: FakeInstitution[] = [
  {
    institution_id: 'ins_109508', name: 'First Platypus Bank', products: ['assets', 'auth', 'balance', 'identity', 'investments', 'liabilities', 'transactions'],
    country_codes: ['US'], url: 'https://www.plaid.com', primary_color: '#1f6feb', logo: solidPng('#1f6feb'),
    routing_numbers: ['011000138', '011200365'], dtc_numbers: [], oauth: false, accounts: usAccounts(), consentDays: null,
  },
  {
    institution_id: 'ins_109509', name: 'First Gingham Credit Union', products: ['auth', 'balance', 'identity', 'transactions'],
    country_codes: ['US'], url: null, primary_color: null, logo: null,
    routing_numbers: ['021000021'], dtc_numbers: [], oauth: false, accounts: usAccounts(), consentDays: null,
  },
  {
    institution_id: 'ins_109512', name: 'Houndstooth Bank', products: ['auth', 'balance', 'identity', 'transactions'],
    country_codes: ['US'], url: 'https://www.houndstooth.example', primary_color: '#6e40c9', logo: solidPng('#6e40c9'),
    routing_numbers: ['026009593'], dtc_numbers: [], oauth: false, consentDays: null,
    accounts: [...usAccounts(), { kind: 'savings', name: 'Yen Savings', officialName: 'Houndstooth Yen Time Deposit', mask: '7777', currency: 'JPY' }],
  },
  {
    institution_id: 'ins_117650', name: 'Royal Bank of Plaid', products: ['auth', 'balance', 'identity', 'payment_initiation', 'transactions'],
    country_codes: ['GB'], url: 'https://www.royalbankofplaid.example', primary_color: '#c41230', logo: solidPng('#c41230'),
    routing_numbers: [], dtc_numbers: [], oauth: true, accounts: localAccounts('GBP', true), consentDays: 90,
  },
  {
    institution_id: 'ins_fake_noidentity', name: 'Plain Savings Bank', products: ['balance', 'transactions'],
    country_codes: ['US'], url: null, primary_color: null, logo: null,
    routing_numbers: ['011000015'], dtc_numbers: [], oauth: false, accounts: usAccounts().slice(0, 2), consentDays: null,
  },
];

const PREFIXES = ['First', 'Citizens', 'Peoples', 'Summit', 'Harbor', 'Pioneer', 'Heritage', 'Liberty', 'Union', 'Frontier',
  'Golden', 'Northern', 'Southern', 'Pacific', 'Atlantic', 'Prairie', 'Valley', 'Mountain', 'Coastal', 'Central',
  'United', 'Evergreen', 'Keystone', 'Lakeside', 'Riverside'];
const CORES = ['Oak', 'River', 'Granite', 'Cedar', 'Maple', 'Falcon', 'Beacon', 'Meridian', 'Sterling', 'Willow',
  'Anchor', 'Crescent', 'Harvest', 'Pinnacle', 'Trinity', 'Horizon', 'Compass', 'Juniper', 'Canyon', 'Sequoia',
  'Bluebird', 'Copper', 'Ironwood', 'Magnolia', 'Northstar', 'Orchard', 'Redwood', 'Silverleaf', 'Timber', 'Wheatland',
  'Alder', 'Birch', 'Cypress', 'Dogwood', 'Elm', 'Fir', 'Hawthorn', 'Laurel', 'Poplar', 'Spruce'];
const SUFFIXES = ['Bank', 'Credit Union', 'Savings Bank', 'Trust', 'Federal Credit Union', 'Bank & Trust', 'Community Bank', 'Financial'];
const COLOURS = ['#1f6feb', '#0a7d3b', '#c41230', '#6e40c9', '#e36209', '#005a9c', '#2b2b2b', '#00857c', '#b08800', '#8a1538'];

/** Names with accents, apostrophes and length, at fixed ids, for rendering and search tests. */
const ODD_NAMES: Record<number, [string, string]> = {
  13: ['Caisse Desjardins de Lévis', 'CA'],
  42: ['Banco Señorial de Castilla', 'ES'],
  77: ["O'Reilly & Sons Savings Bank", 'US'],
  99: ['Crédit Coopératif du Nord', 'FR'],
  128: ['Zürcher Privatbank', 'DE'],
  500: ['The Very Long Name Mutual Savings and Loan Association of the Greater Metropolitan Area', 'US'],
};

function generated(i: number): FakeInstitution {
  const r = rng(`institution:${i}`);
  const odd = ODD_NAMES[i];
  const roll = r.next();
  const country = odd?.[1] ?? (roll < 0.62 ? 'US' : roll < 0.74 ? 'CA' : roll < 0.9 ? 'GB' : r.pick(['IE', 'FR', 'ES', 'NL', 'DE']));
  // 25 × 40 × 8 = 8,000 distinct names; 7919 is prime to 8,000, so i ↦ n is a permutation (unique, well mixed).
  const n = (i * 7919) % (PREFIXES.length * CORES.length * SUFFIXES.length);
  const name = odd?.[0] ?? `${PREFIXES[Math.floor(n / SUFFIXES.length) % PREFIXES.length]} ${CORES[Math.floor(n / (SUFFIXES.length * PREFIXES.length))]} ${SUFFIXES[n % SUFFIXES.length]}`;
  const european = !['US', 'CA'].includes(country);
  const products = r.chance(0.03) ? ['auth', 'balance'] : CORE_PRODUCTS.filter((p) => p !== 'identity' || !r.chance(0.1));
  if (r.chance(0.2)) products.push('investments');
  if (r.chance(0.15)) products.push('liabilities');
  if (european && r.chance(0.5)) products.push('payment_initiation');
  products.sort();
  const hasBrand = r.chance(0.4);
  const colour = r.pick(COLOURS);
  const slug = name.toLowerCase().normalize('NFD').replace(/[^a-z0-9]+/g, '');
  const tld = country === 'US' ? 'com' : country === 'GB' ? 'co.uk' : country.toLowerCase();
  const currency = CURRENCY[country] ?? 'EUR';
  return {
    institution_id: `ins_${i}`,
    name,
    products,
    country_codes: country === 'US' && r.chance(0.05) ? ['CA', 'US'] : [country],
    url: r.chance(0.8) ? `https://www.${slug.slice(0, 40)}.${tld}` : null,
    primary_color: hasBrand ? colour : null,
    logo: hasBrand ? solidPng(colour) : null,
    routing_numbers: country === 'US' ? [routingNumber(i)] : [],
    dtc_numbers: [],
    oauth: european ? true : r.chance(0.2),
    accounts: country === 'US' ? usAccounts() : localAccounts(currency, country === 'GB'),
    consentDays: european ? 90 : null,
  };
}

export const GENERATED_INSTITUTIONS = 2500;

let catalogue: FakeInstitution[] | undefined;

/** Fixed institutions first, then `ins_1`..`ins_2500`; built once per process, never mutated. */
export function institutionCatalogue(): readonly FakeInstitution[] {
  if (!catalogue) {
    catalogue = [...FIXED];
    for (let i = 1; i <= GENERATED_INSTITUTIONS; i++) catalogue.push(generated(i));
  }
  return catalogue;
}

export type ProductHealth = 'HEALTHY' | 'DEGRADED' | 'DOWN';

/** Wire shape of an institution; optional metadata only when asked for, as Plaid does. */
export function institutionJson(inst: FakeInstitution, opts: { optionalMetadata?: boolean; status?: { health: ProductHealth; since: string } | null }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    institution_id: inst.institution_id,
    name: inst.name,
    products: inst.products,
    country_codes: inst.country_codes,
    routing_numbers: inst.routing_numbers,
    dtc_numbers: inst.dtc_numbers,
    oauth: inst.oauth,
  };
  if (opts.optionalMetadata) {
    out.url = inst.url;
    out.primary_color = inst.primary_color;
    out.logo = inst.logo;
  }
  if (opts.status) {
    const s = opts.status;
    const product = (errorShare: number) => ({
      status: s.health,
      last_status_change: s.since,
      breakdown: { success: 1 - errorShare, error_plaid: 0, error_institution: errorShare, refresh_interval: s.health === 'DOWN' ? 'STOPPED' : s.health === 'DEGRADED' ? 'DELAYED' : 'NORMAL' },
    });
    const share = s.health === 'HEALTHY' ? 0.01 : s.health === 'DEGRADED' ? 0.35 : 0.98;
    out.status = { item_logins: product(share), transactions_updates: product(share), auth: product(share), identity: product(share), investments_updates: null, liabilities_updates: null, liabilities: null, investments: null, health_incidents: [] };
  }
  return out;
}
