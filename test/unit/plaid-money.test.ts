import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountBase, Transaction } from 'plaid';
import { amountToMinor, currencyExponent, toMinorUnits } from '../../src/domain/money.js';
import { accountFromPlaid, transactionFromPlaid } from '../../src/providers/plaid/mapping.js';

describe('Plaid amounts as minor units', () => {
  // [amount as Plaid sends it, currency, minor units]. Where float arithmetic (Math.round(n * 10^e))
  // gets it wrong, the row says so.
  const TABLE: [number | string, string, number, string?][] = [
    [1.15, 'USD', 115, '1.15 * 100 = 114.99999999999999'],
    [19.99, 'USD', 1999],
    [-0.01, 'USD', -1],
    [0.1 + 0.2, 'USD', 30, 'the float sum is 0.30000000000000004'],
    [1.005, 'USD', 101, 'half away from zero; Math.round(1.005 * 100) = 100'],
    [-1.005, 'USD', -101],
    [2.675, 'USD', 268, 'Math.round(2.675 * 100) = 267'],
    [0.125, 'USD', 13, 'more decimals than the currency has: half away from zero'],
    [-0.125, 'USD', -13],
    [0.124, 'USD', 12],
    [-0.124, 'USD', -12],
    [1e-7, 'USD', 0, 'String(1e-7) is exponent notation'],
    [5e-3, 'USD', 1],
    [1234567.89, 'USD', 123456789],
    [9007199254740.99, 'USD', 900719925474099],
    [1500, 'JPY', 1500],
    [1500.5, 'JPY', 1501],
    [-1500.5, 'JPY', -1501],
    [12.345, 'KWD', 12345],
    [1.2345, 'BHD', 1235],
    [100, 'USD', 10000],
    ['19.99', 'USD', 1999],
    ['.5', 'USD', 50],
    ['1e2', 'EUR', 10000],
    ['-2.5E-1', 'GBP', -25],
  ];

  for (const [value, currency, minor, why] of TABLE) {
    it(`${String(value)} ${currency} is ${minor}${why ? ` (${why})` : ''}`, () => {
      assert.equal(amountToMinor(value, currency), minor);
    });
  }

  it('reads amounts exactly as JSON wrote them', () => {
    const body = JSON.parse('{"a": 2.675, "b": 1.15, "c": 0.07, "d": 4.35, "e": 1e-7}') as Record<string, number>;
    assert.deepEqual(Object.values(body).map((n) => amountToMinor(n, 'USD')), [268, 115, 7, 435, 0]);
  });

  it('never answers -0', () => {
    assert.ok(Object.is(toMinorUnits(-0, 2), 0));
    assert.ok(Object.is(toMinorUnits(-0.001, 2), 0));
  });

  it('refuses what is not a finite decimal, and what does not fit a safe integer', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 'abc', '', '1.2.3', '--1']) {
      assert.throws(() => toMinorUnits(bad, 2), RangeError, String(bad));
    }
    assert.throws(() => toMinorUnits(1.5e21, 2), RangeError);
    // As text (a double cannot hold 16 significant digits exactly): the largest amount that fits, and one past it.
    assert.equal(toMinorUnits('90071992547409.91', 2), Number.MAX_SAFE_INTEGER);
    assert.throws(() => toMinorUnits('90071992547409.92', 2), RangeError);
  });

  it('uses the ISO 4217 exponent of the currency', () => {
    assert.deepEqual(
      ['USD', 'EUR', 'JPY', 'jpy', 'KRW', 'KWD', 'BHD', 'IQD', 'CLF', 'BTC'].map(currencyExponent),
      [2, 2, 0, 0, 0, 3, 3, 3, 4, 2],
    );
  });
});

function account(over: Partial<AccountBase> & Pick<AccountBase, 'type'>, balances: Partial<AccountBase['balances']>): AccountBase {
  return {
    account_id: 'acc_1', name: 'Account', official_name: null, mask: '0000', subtype: null, ...over,
    balances: { available: null, current: null, limit: null, iso_currency_code: 'USD', unofficial_currency_code: null, ...balances },
  } as AccountBase;
}

describe('Plaid balances in Causeway convention', () => {
  it('keeps a checking account as it is', () => {
    const a = accountFromPlaid(account({ type: 'depository' as AccountBase['type'], subtype: 'checking' as AccountBase['subtype'] }, { current: 110, available: 100 }));
    assert.deepEqual([a.type, a.balances], ['transaction', { current: 11000, available: 10000, limit: null }]);
  });

  it('shows a credit card\'s debt as negative, its available credit and limit as positive', () => {
    const a = accountFromPlaid(account({ type: 'credit' as AccountBase['type'], subtype: 'credit card' as AccountBase['subtype'] }, { current: 410.5, available: 589.5, limit: 1000 }));
    assert.deepEqual([a.type, a.balances], ['credit_card', { current: -41050, available: 58950, limit: 100000 }]);
  });

  it('shows a card the lender owes (Plaid\'s negative current) as positive', () => {
    const a = accountFromPlaid(account({ type: 'credit' as AccountBase['type'] }, { current: -20, limit: 500 }));
    assert.equal(a.balances!.current, 2000);
  });

  it('works out a card\'s debt from its limit when Plaid gives no current', () => {
    const a = accountFromPlaid(account({ type: 'credit' as AccountBase['type'] }, { available: 250, limit: 1000 }));
    assert.equal(a.balances!.current, -75000);
  });

  it('shows loans and mortgages as owed', () => {
    const loan = accountFromPlaid(account({ type: 'loan' as AccountBase['type'], subtype: 'student' as AccountBase['subtype'] }, { current: 65262 }));
    const home = accountFromPlaid(account({ type: 'loan' as AccountBase['type'], subtype: 'mortgage' as AccountBase['subtype'] }, { current: 56302.06 }));
    assert.deepEqual([loan.type, loan.balances!.current, home.type, home.balances!.current], ['loan', -6526200, 'mortgage', -5630206]);
  });

  it('keeps savings and investments positive, in the account\'s currency', () => {
    const savings = accountFromPlaid(account({ type: 'depository' as AccountBase['type'], subtype: 'savings' as AccountBase['subtype'] }, { current: 1500, iso_currency_code: 'JPY' }));
    const isa = accountFromPlaid(account({ type: 'investment' as AccountBase['type'], subtype: 'isa' as AccountBase['subtype'] }, { current: 1234.56, iso_currency_code: 'GBP' }));
    assert.deepEqual([savings.type, savings.currency, savings.balances!.current], ['savings', 'JPY', 1500]);
    assert.deepEqual([isa.type, isa.currency, isa.balances!.current], ['investment', 'GBP', 123456]);
  });

  it('gives an empty mask when Plaid has none (never made-up digits)', () => {
    assert.equal(accountFromPlaid(account({ type: 'depository' as AccountBase['type'], mask: null }, { current: 1 })).mask, '');
  });
});

function transaction(over: Partial<Transaction>): Transaction {
  return {
    transaction_id: 'tx_1', account_id: 'acc_1', amount: 0, iso_currency_code: 'USD', unofficial_currency_code: null,
    date: '2026-05-01', authorized_date: null, name: 'Coffee', merchant_name: null, pending: false, pending_transaction_id: null,
    ...over,
  } as Transaction;
}

describe('Plaid transactions in Causeway convention', () => {
  it('turns money out (Plaid positive) negative and money in positive', () => {
    assert.equal(transactionFromPlaid(transaction({ amount: 12.34 })).amount, -1234);
    assert.equal(transactionFromPlaid(transaction({ amount: -500 })).amount, 50000);
    assert.ok(Object.is(transactionFromPlaid(transaction({ amount: 0 })).amount, 0));
  });

  it('uses the currency\'s exponent (JPY has none)', () => {
    const t = transactionFromPlaid(transaction({ amount: 1500, iso_currency_code: 'JPY' }));
    assert.deepEqual([t.amount, t.currency], [-1500, 'JPY']);
  });

  it('reads an unofficial currency when there is no ISO one', () => {
    const t = transactionFromPlaid(transaction({ amount: 1.5, iso_currency_code: null, unofficial_currency_code: 'CNH' }));
    assert.deepEqual([t.amount, t.currency], [-150, 'CNH']);
  });

  it('maps status, dates, description, merchant, category and the pending link', () => {
    const t = transactionFromPlaid(transaction({
      amount: 4.5, pending: false, pending_transaction_id: 'tx_0', date: '2026-05-02', authorized_date: '2026-05-01',
      name: 'STARBUCKS 123', merchant_name: 'Starbucks',
      personal_finance_category: { primary: 'FOOD_AND_DRINK', detailed: 'FOOD_AND_DRINK_COFFEE' },
    }));
    assert.deepEqual(t, {
      id: 'tx_1', accountId: 'acc_1', status: 'posted', amount: -450, currency: 'USD', date: '2026-05-02',
      authorizedDate: '2026-05-01', description: 'STARBUCKS 123', merchantName: 'Starbucks', category: 'food_and_drink',
      pendingTransactionId: 'tx_0',
    });
    assert.equal(transactionFromPlaid(transaction({ pending: true })).status, 'pending');
    assert.equal(transactionFromPlaid(transaction({})).category, null);
  });
});
