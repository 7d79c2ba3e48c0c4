/**
 * fast-check arbitraries for requests built from the API document (test/fuzz.test.ts). A case
 * names real fixtures by reference, `@@userId@@` (the batch's own user), `@@wrong:userId@@` (that
 * id under another prefix) or `@@tamper:txCursor@@` (a cursor the server issued, one character changed), so one seed gives the same cases on every run and each batch of cases
 * is pointed at its own fixtures when it is sent.
 */
import fc from 'fast-check';
import { plausibleString, type Operation, type Parameter, type Schema } from './openapi.js';

export interface FuzzCase {
  op: string;
  /** Path values, already percent-encoded (or deliberately not): inserted as they are. */
  path: Record<string, string>;
  /** name=value pairs, already encoded, joined with &. */
  query: string[];
  body:
    | { kind: 'none' }
    | { kind: 'json'; mutation: string; value: unknown }
    | { kind: 'raw'; mutation: string; contentType: string | null; payload: string };
  auth: 'key' | 'none' | 'bad' | 'basic';
  idempotencyKey: string | null;
  /** Send the same request twice (with its Idempotency-Key, the second is a replay). */
  repeat: boolean;
}

/** The fixture references a case can carry; the fuzz test gives each batch real values for them. */
export const FIXTURE_REFS = ['userId', 'connectionId', 'accountId', 'jobId', 'endpointId', 'deliveryId', 'eventId', 'deletionId', 'institutionId'] as const;
const ref = (name: string) => `@@${name}@@`;
const wrongRef = (name: string) => `@@wrong:${name}@@`;

const b64url = (s: string) => Buffer.from(s).toString('base64url');
/** Cursors the server never issued: each list must answer 400 invalid_cursor, never 500 or data. */
export const FORGED_CURSORS = [
  'notacursor', b64url('{"d":"zzz","i":"x"}'), b64url('{"s":1e300}'), b64url('{"s":-1}'), b64url('{}'), b64url('[]'), b64url('null'),
  b64url('{"t":"0000-01-01T00:00:00Z","i":"x"}'), b64url('{"t":"9999-12-31T23:59:59Z","i":"\u0000"}'), b64url('{"at":"-271821-04-20T00:00:00Z"}'),
  b64url('{"d":"2024-02-30","i":"txn_x"}'), b64url('{"o":-5}'), b64url('{"o":1e308}'), b64url('"a string"'), b64url('1e300'),
  'eyJ', '%00', 'a%00b', '%E0%A4%A', '====', '-_-_', 'x'.repeat(512), 'x'.repeat(600),
];
const DATES = [
  '0000-01-01', '9999-12-31', '2024-02-30', '2024-13-01', '2024-00-10', '-0001-01-01', '+275760-09-13', '1969-12-31', '2026-01-01',
  '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00.000Z', '2024-02-30T00:00:00Z', '1970-01-01T00:00:00+23:59',
  '2026-01-01T00:00:00Z', '2026-01-01', 'yesterday', '1e300',
];
const NUMBERS = ['-1', '0', '1', '1.5', '1e300', '-1e300', '1e-300', '99999999999999999999', '-99999999999', '500', '501', 'NaN', 'Infinity', '0x10', ' 5', 'abc', 'true', '[]'];
const BAD_ENCODINGS = ['%E0%A4%A', '%', '%zz', '%C0%AF', '%ED%A0%80', '%FF', 'a%2', '%u0041'];
const NUL = ['%00', 'a%00b', '%00%00', `${ref('userId')}%00`];

/** A string of any Unicode (no lone surrogates: a client cannot encode them in a URL). */
const unicode = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max });
const enc = (a: fc.Arbitrary<string>) => a.map((s) => encodeURIComponent(s));
const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]) => fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const isIdName = (name: string) => /Id$/.test(name);

function pathValue(p: Parameter): fc.Arbitrary<string> {
  const known = (FIXTURE_REFS as readonly string[]).includes(p.name);
  const otherRefs = FIXTURE_REFS.filter((r) => r !== p.name).map(ref);
  return weighted<string>(
    [known ? 10 : 0, fc.constant(ref(p.name))],
    [known ? 2 : 0, fc.constant(wrongRef(p.name))],
    [2, fc.constantFrom(...otherRefs)],
    [2, fc.constantFrom(...NUL)],
    [1, fc.constant('x'.repeat(5000))],
    [1, fc.constantFrom('usr_', 'con_', 'job_', 'acc_').map((prefix) => `${prefix}${'a'.repeat(120)}`)],
    [1, fc.constant(`${'a'.repeat(101)}`)],
    [2, enc(unicode(20))],
    [2, fc.constantFrom(...BAD_ENCODINGS)],
    [1, fc.constantFrom('%2e%2e', '.', '..', '%2F', 'a%2Fb', '%20', '+', '*', "'", '"', '%3Cscript%3E', 'null', 'undefined', '0')],
  );
}

function queryValue(p: Parameter, schemaValue: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const s = p.schema ?? {};
  const type = s.type ?? s.anyOf?.[0]?.type;
  const specific: [number, fc.Arbitrary<string>][] = [];
  if (p.name === 'cursor') {
    // Forged ones, real ones issued by this or another list, and real ones with a character changed.
    const real = ['txCursor', 'eventsCursor', 'usersCursor'];
    specific.push([6, fc.constantFrom(...FORGED_CURSORS)], [2, fc.constantFrom(...real.map(ref))], [2, fc.constantFrom(...real.map((r) => `@@tamper:${r}@@`))]);
  }
  if (['from', 'to'].includes(p.name) || s.format === 'date-time' || /\\d\{4\}/.test(s.pattern ?? '')) specific.push([6, fc.constantFrom(...DATES)]);
  if (type === 'integer' || type === 'number') specific.push([5, fc.constantFrom(...NUMBERS)]);
  if (isIdName(p.name)) {
    const own = (FIXTURE_REFS as readonly string[]).includes(p.name);
    specific.push([own ? 4 : 0, fc.constant(ref(p.name))], [own ? 1 : 0, fc.constant(wrongRef(p.name))], [2, fc.constantFrom(...FIXTURE_REFS.map(ref))]);
  }
  return weighted<string>(
    [4, schemaValue.map((v) => encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v)))],
    ...specific,
    [2, fc.constantFrom(...NUL)],
    [1, fc.constant('')],
    [1, fc.constant('q'.repeat(5000))],
    [2, enc(unicode(30))],
    [1, fc.constantFrom(...BAD_ENCODINGS)],
    [1, fc.constantFrom(...NUMBERS)],
  );
}

function queryArb(op: Operation): fc.Arbitrary<string[]> {
  const params = op.queryParams.map((p) => weighted<string[]>(
    [3, fc.constant([])],
    [4, queryValue(p, valueArb(p.schema, p.name, 0)).map((v) => [`${p.name}=${v}`])],
    [1, fc.tuple(queryValue(p, valueArb(p.schema, p.name, 0)), queryValue(p, valueArb(p.schema, p.name, 0))).map(([a, b]) => [`${p.name}=${a}`, `${p.name}=${b}`])],
    [1, fc.constant([`${p.name}[]=1`, `${p.name}[x]=2`])],
  ));
  const extra = weighted<string[]>(
    [8, fc.constant([])],
    [1, fc.constantFrom(['unknown=1'], ['%00=1'], ['a=%E0%A4%A'], ['=', '&&'], ['__proto__[x]=1'], ['constructor=1'])],
  );
  return fc.tuple(fc.tuple(...params), extra).map(([ps, e]) => [...ps.flat(), ...e]);
}

/** Values the schema allows (mostly), with the sandbox's magic values for the fields that need them. */
export function valueArb(schema: Schema | undefined, name: string, depth: number): fc.Arbitrary<unknown> {
  const s = schema ?? {};
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt) && alt.length > 0) return fc.oneof(...alt.map((a: Schema) => valueArb(a, name, depth)));
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return valueArb(s.allOf[0], name, depth);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      if (depth > 4) return fc.constant({});
      const props = Object.entries<Schema>(s.properties ?? {});
      const required: string[] = s.required ?? [];
      const fields = fc.record(Object.fromEntries(props.map(([k, v]) => [k, valueArb(v, k, depth + 1)])), {
        requiredKeys: props.map(([k]) => k).filter((k) => required.includes(k)),
      });
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        const keys = valueArb({ type: 'string', ...(s.propertyNames ?? {}) }, `${name}Key`, depth + 1).map(String);
        const extra = fc.dictionary(keys, valueArb(s.additionalProperties, name, depth + 1), { maxKeys: 3 });
        return fc.tuple(fields, extra).map(([a, b]) => ({ ...b, ...a }));
      }
      return fields;
    }
    case 'array': {
      const items = valueArb(s.items, name, depth + 1);
      const opts = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 5) };
      return Array.isArray(s.items?.enum) ? fc.uniqueArray(items, opts) : fc.array(items, opts);
    }
    case 'string': {
      const max = Math.min(s.maxLength ?? 40, 40);
      const min = Math.min(s.minLength ?? 0, max);
      const plausible = plausibleString(name, s);
      const generic: fc.Arbitrary<string> = s.pattern ? patternArb(s.pattern, min, s.maxLength) : fc.string({ minLength: min, maxLength: max });
      const special: [number, fc.Arbitrary<string>][] = [];
      if (name === 'advanceBy') special.push([4, fc.constantFrom('PT1H', 'P1D', 'P30D', 'P1W', 'PT90M', 'P400D', 'PT99999999999H', 'P99999999D', 'P0D', '-P1D', 'P1Y', 'PT')]);
      if (name === 'institutionId') special.push([4, fc.constantFrom('ins_sandbox_web', 'ins_sandbox_mfa', 'ins_sandbox_openbank', 'ins_sandbox_universal', 'ins_nope')]);
      if (name === 'accessToken') special.push([3, fc.constant(ref('accessToken'))]);
      if (s.format === 'date-time' || ['from', 'to'].includes(name)) special.push([4, fc.constantFrom(...DATES)], [2, fc.date({ noInvalidDate: true }).map((d) => d.toISOString())]);
      return weighted<string>([plausible ? 4 : 0, fc.constant(plausible ?? '')], [3, generic], ...special);
    }
    case 'integer': {
      const min = Number.isFinite(s.minimum) ? s.minimum : -1e9;
      const max = Number.isFinite(s.maximum) ? s.maximum : 1e9;
      return fc.integer({ min: Math.max(min, -2147483648), max: Math.min(max, 2147483647) });
    }
    case 'number': return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'boolean': return fc.boolean();
    case 'null': return fc.constant(null);
    default: return depth > 2 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 });
  }
}

function patternArb(pattern: string, min: number, max: number | undefined): fc.Arbitrary<string> {
  try {
    const arb = fc.stringMatching(new RegExp(pattern));
    return arb.filter((v) => v.length >= min && (max === undefined || v.length <= max));
  } catch {
    return fc.string({ minLength: min, maxLength: Math.min(max ?? 40, 40) });
  }
}

type Path = (string | number)[];
function leaves(v: unknown, at: Path = [], out: { path: Path; value: unknown }[] = []) {
  out.push({ path: at, value: v });
  if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) leaves(c, [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}
function removeAt(root: unknown, path: Path): unknown {
  if (path.length === 0) return undefined;
  if (path.length === 1) {
    if (Array.isArray(root)) return root.filter((_, i) => i !== path[0]);
    const { [path[0]!]: _gone, ...rest } = root as Record<string, unknown>;
    return rest;
  }
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[path[0]!] = removeAt(copy[path[0]!], path.slice(1));
  return copy;
}

const WRONG_TYPES: unknown[] = [42, -1, 1e300, -1e300, 0.5, 'str', '', true, false, null, [], {}, [1, 2], { a: 1 }, '1', 'null', 'true'];
const BAD_STRINGS = ['a\u0000b', '\u0000', '\ud800', 'x\udfffy', 'x'.repeat(5000), 'ü'.repeat(5000), '🏦'.repeat(3000), ' ', '\u202e\u200b', '%00', '${x}', '<script>'];

/** A valid value with one mutation (or none). */
function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<{ mutation: string; value: unknown }> {
  return valid.chain((v) => {
    const all = leaves(v);
    const inner = all.filter((l) => l.path.length > 0);
    const strings = all.filter((l) => typeof l.value === 'string');
    const objects = all.filter((l) => l.value && typeof l.value === 'object' && !Array.isArray(l.value));
    const pick = <T>(list: T[]) => fc.nat({ max: Math.max(0, list.length - 1) }).map((i) => list[i]!);
    return weighted<{ mutation: string; value: unknown }>(
      [6, fc.constant({ mutation: 'valid', value: v })],
      [3, fc.tuple(pick(all), fc.constantFrom(...WRONG_TYPES)).map(([l, w]) => ({ mutation: `wrong type at /${l.path.join('/')}`, value: setAt(v, l.path, w) }))],
      [inner.length > 0 ? 2 : 0, pick(inner).map((l) => ({ mutation: `missing /${l.path.join('/')}`, value: removeAt(v, l.path) }))],
      [objects.length > 0 ? 2 : 0, fc.tuple(pick(objects), fc.constantFrom('unknownField', '__proto__', 'constructor', ''), fc.constantFrom<unknown>(1, 'x', null, { a: 1 }))
        .map(([l, k, w]) => ({ mutation: `unknown field ${k} at /${l.path.join('/')}`, value: setAt(v, [...l.path, k], w) }))],
      [3, fc.tuple(pick(strings.length > 0 ? strings : all), fc.constantFrom('a\u0000b', '\u0000', 'x\u0000'))
        .map(([l, w]) => ({ mutation: `NUL in the string at /${l.path.join('/')}`, value: setAt(v, l.path, typeof l.value === 'string' ? `${l.value}${w}` : w) }))],
      [3, fc.tuple(pick(strings.length > 0 ? strings : all), fc.constantFrom(...BAD_STRINGS))
        .map(([l, w]) => ({ mutation: `bad string ${JSON.stringify(w.slice(0, 12))} at /${l.path.join('/')}`, value: setAt(v, l.path, w) }))],
      [1, fc.constant({ mutation: 'huge string', value: setAt(v, strings[0]?.path ?? ['huge'], 'h'.repeat(20_000)) })],
      [1, fc.constantFrom<unknown>([], [v], 42, 'text', true, null, {}).map((w) => ({ mutation: 'array or scalar for the object', value: w }))],
      [objects.length > 0 ? 1 : 0, pick(objects).map((l) => ({ mutation: `array for the object at /${l.path.join('/')}`, value: setAt(v, l.path, [l.value]) }))],
      [1, fc.constantFrom(50, 2000).map((n) => {
        let deep: unknown = 'bottom';
        for (let i = 0; i < n; i++) deep = i % 2 ? { a: deep } : [deep];
        const at = objects[0]?.path ?? [];
        return { mutation: `nesting ${n} deep at /${at.join('/')}`, value: at.length === 0 && !objects[0] ? deep : setAt(v, [...at, 'nested'], deep) };
      })],
    );
  });
}

const INVALID_JSON = ['{"a":', "{'a':1}", '[1,]', 'nul', '\u0000', '{"a":1}}', '{"a":"\\ud800"}', '{"a":"\\u0000"}', ' ', '\ufeff{}', '{"a":1e999999}',
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`, '"just a string"', '{"__proto__":{"polluted":true}}', '{"a":"\\x00"}'];

function bodyArb(op: Operation): fc.Arbitrary<FuzzCase['body']> {
  const takesBody = op.body !== null;
  const json = mutated(takesBody ? valueArb(op.body!, '', 0) : fc.constant({}));
  const raw = (mutation: string, contentType: string | null, payload: fc.Arbitrary<string> | string) =>
    (typeof payload === 'string' ? fc.constant(payload) : payload).map((p) => ({ kind: 'raw' as const, mutation, contentType, payload: p }));
  const asText = json.map((j) => JSON.stringify(j.value) ?? 'null');
  return weighted<FuzzCase['body']>(
    [takesBody ? 12 : 0, json.map((j) => ({ kind: 'json' as const, ...j }))],
    [takesBody ? 2 : 8, fc.constant({ kind: 'none' as const })],
    [1, raw('empty body with a JSON content type', 'application/json', '')],
    [1, raw('invalid JSON', 'application/json', fc.constantFrom(...INVALID_JSON))],
    [1, raw('text/plain', 'text/plain', asText)],
    [1, raw('application/xml', 'application/xml', '<?xml version="1.0"?><user><email>a@example.com</email></user>')],
    [1, raw('multipart', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n--XyZ--\r\n')],
    [1, raw('form', 'application/x-www-form-urlencoded', fc.constantFrom('email=a%40example.com', 'a=%00', 'a[b][c]=1', 'a=%E0%A4%A', ''))],
    [1, raw('no content type', null, asText)],
    [1, raw('odd JSON content type', 'application/json; charset=utf-16', asText)],
    [1, raw('JSON suffix type', 'application/merge-patch+json', asText)],
    [1, raw('over 1 MB', 'application/json', `{"a":"${'x'.repeat(1024 * 1024 + 10)}"}`)],
  );
}

export function caseArb(ops: Operation[]): fc.Arbitrary<FuzzCase> {
  // Uniform over operations: pick one, then build its request.
  return fc.constantFrom(...ops).chain((op) => fc.record({
    op: fc.constant(op.id),
    // Mostly the batch's real ids, so bodies and queries reach the handlers; else each id may be hostile.
    path: weighted<Record<string, string>>(
      [3, fc.constant(Object.fromEntries(op.pathParams.map((p) => [p.name, (FIXTURE_REFS as readonly string[]).includes(p.name) ? ref(p.name) : 'x'])))],
      [2, fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, pathValue(p)]))) as fc.Arbitrary<Record<string, string>>],
    ),
    query: queryArb(op),
    body: bodyArb(op),
    auth: weighted<FuzzCase['auth']>([30, fc.constant('key')], [1, fc.constant('none')], [1, fc.constant('bad')], [1, fc.constant('basic')]),
    idempotencyKey: weighted<string | null>([8, fc.constant(null)], [2, fc.constantFrom('k1', 'k2', 'k3')], [1, fc.constantFrom('', 'k'.repeat(300), '\u00e9t\u00e9')]),
    repeat: weighted([9, fc.constant(false)], [1, fc.constant(true)]),
  }));
}

/**
 * The edge sweep: every known-dangerous value in every parameter and body field of every
 * operation, one at a time, the rest of the request valid. Random cases find combinations; these
 * make sure each hostile value meets each place it could hurt on every run (a forged cursor on
 * each list, year 0000 in each date, a NUL in each string), which 2,000 samples over 50-odd
 * operations cannot promise.
 */
export function edgeCases(ops: Operation[]): FuzzCase[] {
  const out: FuzzCase[] = [];
  for (const op of ops) {
    const realPath = Object.fromEntries(op.pathParams.map((p) => [p.name, (FIXTURE_REFS as readonly string[]).includes(p.name) ? ref(p.name) : 'x']));
    const validBody: FuzzCase['body'] = op.body ? { kind: 'json', mutation: 'valid', value: fullValue(op.body) } : { kind: 'none' };
    const base = (patch: Partial<FuzzCase>): FuzzCase => ({
      op: op.id, path: realPath, query: [], body: validBody, auth: 'key', idempotencyKey: null, repeat: false, ...patch,
    });
    for (const p of op.pathParams) {
      const own = (FIXTURE_REFS as readonly string[]).includes(p.name);
      for (const v of ['%00', `${own ? ref(p.name) : 'x'}%00`, 'x'.repeat(5000), `${p.name.slice(0, 3)}_${'a'.repeat(120)}`, '%E0%A4%A', '%ED%A0%80',
        encodeURIComponent('ü🏦\u202e'), ...(own ? [wrongRef(p.name)] : [])]) {
        out.push(base({ path: { ...realPath, [p.name]: v } }));
      }
    }
    for (const p of op.queryParams) {
      for (const v of hostileQueryValues(p)) out.push(base({ query: [`${p.name}=${v}`] }));
    }
    if (op.body) {
      const value = fullValue(op.body);
      for (const l of leaves(value)) {
        const at = `/${l.path.join('/')}`;
        const bodies: [string, unknown][] = [[`wrong type at ${at}`, wrongTypeFor(l.value)]];
        if (l.path.length > 0) bodies.push([`missing ${at}`, removeAt(value, l.path)]);
        if (typeof l.value === 'string') {
          const name = String(l.path.at(-1) ?? '');
          bodies.push([`NUL in the string at ${at}`, `${l.value}\u0000`], [`lone surrogate at ${at}`, `${l.value}\udfff`]);
          if (name === 'advanceBy') for (const d of ['PT99999999999H', 'P99999999D', 'P3651D', 'PT0S', '-P1D', 'P1Y']) bodies.push([`advanceBy ${d}`, d]);
          if (/date|time|^(from|to)$/i.test(name)) for (const d of DATES) bodies.push([`date ${d} at ${at}`, d]);
        }
        for (const [mutation, w] of bodies) {
          const next = mutation.startsWith('missing') ? w : setAt(value, l.path, w);
          out.push(base({ body: { kind: 'json', mutation, value: next } }));
        }
      }
      const firstString = leaves(value).find((l) => typeof l.value === 'string');
      if (firstString) out.push(base({ body: { kind: 'json', mutation: 'huge string', value: setAt(value, firstString.path, 'h'.repeat(20_000)) } }));
      if (value && typeof value === 'object' && !Array.isArray(value)) out.push(base({ body: { kind: 'json', mutation: 'unknown field', value: { ...value, unknownField: 1 } } }));
      for (const [mutation, contentType, payload] of [
        ['empty body with a JSON content type', 'application/json', ''], ['invalid JSON', 'application/json', '{"a":'], ['text/plain', 'text/plain', JSON.stringify(value)],
        ['application/xml', 'application/xml', '<a/>'], ['multipart', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--XyZ--\r\n'],
      ] as const) out.push(base({ body: { kind: 'raw', mutation, contentType, payload } }));
    }
    // A replayed answer must be the same problem document as the first.
    out.push(base({ idempotencyKey: `edge-${op.id}`, repeat: true }));
  }
  return out;
}

function hostileQueryValues(p: Parameter): string[] {
  const s = p.schema ?? {};
  const type = s.type ?? s.anyOf?.[0]?.type;
  const generic = ['%00', 'a%00b', 'q'.repeat(5000), encodeURIComponent('ü🏦\u202e'), '%E0%A4%A'];
  if (p.name === 'cursor') return [...FORGED_CURSORS, ...['txCursor', 'eventsCursor', 'usersCursor'].flatMap((r) => [ref(r), `@@tamper:${r}@@`])];
  if (['from', 'to'].includes(p.name) || s.format === 'date-time' || /\\d\{4\}/.test(s.pattern ?? '')) return [...DATES, '%00'];
  if (type === 'integer' || type === 'number') return ['-1', '0', '1e300', '-1e300', '99999999999999999999', 'NaN', 'abc', '1.5', '%00'];
  if (Array.isArray(s.enum)) return ['', 'X', '%00', 'a'.repeat(300)];
  if (isIdName(p.name)) return [...generic, ...FIXTURE_REFS.map(ref), ...((FIXTURE_REFS as readonly string[]).includes(p.name) ? [wrongRef(p.name)] : [])];
  return generic;
}

function wrongTypeFor(v: unknown): unknown {
  if (typeof v === 'string') return 42;
  if (typeof v === 'number') return '1';
  if (typeof v === 'boolean') return 'true';
  if (Array.isArray(v)) return { a: 1 };
  if (v === null) return [];
  return [v];
}

/** A valid value with every property the schema names (first choices), so each field can be hit. */
export function fullValue(schema: Schema | undefined, name = ''): unknown {
  const s = schema ?? {};
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt)) return fullValue(alt.find((a: Schema) => a.type !== 'null') ?? alt[0], name);
  switch (Array.isArray(s.type) ? s.type[0] : s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) out[k] = fullValue(v, k);
      if (Object.keys(out).length === 0 && s.additionalProperties && typeof s.additionalProperties === 'object') out.key = fullValue(s.additionalProperties, 'key');
      return out;
    }
    case 'array': return [fullValue(s.items, name)];
    case 'string': {
      const v = name === 'accessToken' ? ref('accessToken') : plausibleString(name, s) ?? 'x'.repeat(Math.max(1, s.minLength ?? 1));
      return s.maxLength !== undefined ? v.slice(0, s.maxLength) : v;
    }
    case 'integer': case 'number': return s.minimum ?? 1;
    case 'boolean': return true;
    case 'null': return null;
    default: return {};
  }
}
