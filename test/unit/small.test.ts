import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { refreshBudget, spendRefresh } from '../../src/domain/budget.js';
import { parseDuration } from '../../src/domain/duration.js';
import { newId } from '../../src/domain/ids.js';
import { createCipher } from '../../src/services/crypto.js';
import { DataDirLockedError, lockDataDir } from '../../src/db/lock.js';
import { loadConfig, ConfigError } from '../../src/config.js';
import { maskEmail, maskName, maskPhone } from '../../src/services/mask.js';
import { copyField, copyText } from '../../src/db/copy.js';

describe('refresh budget', () => {
  const limits = { refreshesPerDay: 20, minIntervalSeconds: 0 };
  const now = new Date('2026-05-01T10:00:00Z');
  it('starts with the whole day and counts down', () => {
    let state = { refreshDay: null as string | null, refreshesToday: 0, lastRefreshAt: null as Date | null };
    assert.equal(refreshBudget(state, limits, now).remainingToday, 20);
    for (let i = 0; i < 20; i++) state = spendRefresh(state, now);
    const b = refreshBudget(state, limits, now);
    assert.equal(b.remainingToday, 0);
    assert.equal(b.nextRefreshAllowedAt.toISOString(), '2026-05-02T00:00:00.000Z');
    assert.equal(refreshBudget(state, limits, new Date('2026-05-02T00:00:01Z')).remainingToday, 20);
  });
  it('applies the institution minimum interval and its lower daily cap', () => {
    const s = spendRefresh({ refreshDay: null, refreshesToday: 0, lastRefreshAt: null }, now);
    const b = refreshBudget(s, { refreshesPerDay: 4, minIntervalSeconds: 3600 }, now);
    assert.equal(b.remainingToday, 3);
    assert.equal(b.nextRefreshAllowedAt.toISOString(), '2026-05-01T11:00:00.000Z');
  });
});

describe('small pieces', () => {
  it('parses ISO 8601 durations and refuses months', () => {
    assert.equal(parseDuration('P30D'), 30 * 86_400_000);
    assert.equal(parseDuration('PT6H'), 6 * 3_600_000);
    assert.equal(parseDuration('P1DT1M'), 86_460_000);
    assert.equal(parseDuration('P2W'), 14 * 86_400_000);
    assert.equal(parseDuration('P1M'), null);
    assert.equal(parseDuration('30 days'), null);
    assert.equal(parseDuration('P'), null);
  });
  it('makes ids that sort by creation time', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newId('txn', 1_700_000_000_000 + Math.floor(i / 10)));
    assert.deepEqual([...ids].sort(), ids);
    assert.match(ids[0]!, /^txn_[0-9a-z]{26}$/);
  });
  it("draws every id's random part afresh, across the random pool's refills", () => {
    // 1,000 ids in as many milliseconds: about four refills of the 4 KB pool (16 bytes an id).
    const randoms = Array.from({ length: 1000 }, (_, i) => newId('evt', 1_800_000_000_000 + 2 * i).slice(-16));
    assert.equal(new Set(randoms).size, randoms.length);
    const digits = new Set(randoms.join(''));
    assert.equal(digits.size, 32, 'every base32 digit appears');
  });
  it('encrypts with AES-256-GCM and detects tampering', () => {
    const c = createCipher(randomBytes(32).toString('base64'));
    const sealed = c.encrypt('{"password":"pass_good"}');
    assert.ok(!sealed.includes('pass_good'));
    assert.equal(c.decrypt(sealed), '{"password":"pass_good"}');
    assert.notEqual(c.encrypt('x'), c.encrypt('x'));
    const parts = sealed.split('.');
    parts[3] = Buffer.from('{"password":"evil"}').toString('base64url');
    assert.throws(() => c.decrypt(parts.join('.')));
    assert.throws(() => createCipher(randomBytes(16).toString('base64')), ConfigError);
  });
  it('locks a data directory against a second holder and takes over a stale lock', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-lock-'));
    fs.writeFileSync(path.join(dir, 'causeway.lock'), String(process.ppid));
    assert.throws(() => lockDataDir(dir), DataDirLockedError);
    fs.writeFileSync(path.join(dir, 'causeway.lock'), '999999999');
    lockDataDir(dir)();
    // A live pid that started at another time is not the holder: the pid was reused.
    fs.writeFileSync(path.join(dir, 'causeway.lock'), `${process.ppid}:1`);
    const release = lockDataDir(dir);
    assert.match(fs.readFileSync(path.join(dir, 'causeway.lock'), 'utf8'), new RegExp(`^${process.pid}:\\d+$`));
    release();
    assert.ok(!fs.existsSync(path.join(dir, 'causeway.lock')));
  });
  it('names the bad variable when the environment is wrong', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.equal(loadConfig({}).port, 3000);
  });
  it('masks PII so it can be recognised but not used', () => {
    assert.equal(maskName('Jordan Smith'), 'J***** S****');
    assert.equal(maskEmail('jordan.smith@example.com'), 'j***@example.com');
    assert.equal(maskPhone('+61 412 345 678'), '********678');
  });
});

describe('COPY text in one buffer (db/copy.ts copyText)', () => {
  const heads = [`${copyField('a\tb')}\t${copyField(null)}\t`, `${copyField('Pâtisserie ☕ 🥐')}\t${copyField(7)}\t`];
  const bytes = heads.reduce((n, h) => n + Buffer.byteLength(h), 0);
  it('writes each row as its head then its tail, in UTF-8', () => {
    const out = copyText(heads, bytes, (i) => `${100 + i}\n`, 8);
    assert.equal(out.toString('utf8'), 'a\\tb\t\\N\t100\nPâtisserie ☕ 🥐\t7\t101\n');
  });
  it('fails rather than cut a row short when a length is wrong', () => {
    assert.throws(() => copyText(heads, bytes - 1, (i) => `${i}\n`, 8), /heads are \d+ bytes written, not the \d+ given/);
    assert.throws(() => copyText(heads, bytes, () => '123456789\n', 8), /tail is 10 bytes, more than the 8 allowed/);
  });
});
