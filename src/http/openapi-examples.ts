/**
 * An example value for a JSON Schema of the API document (src/http/openapi.ts), for the request
 * bodies and answers no route gives one for: the schema's own example where it has one (the named
 * schemas carry real ones, examples.ts), else a value built from its type, format, bounds and the
 * field's name. The linters check every example against its schema.
 */

/** A JSON Schema or OpenAPI node, loosely typed: the document is plain JSON. */
export type Json = Record<string, any>;
export type Doc = Json;

const AT = '2026-03-02T09:30:00.000Z';
const ID = '01jq3v5w8x9y0z1a2b3c4d5e6f';
const PREFIXES: Record<string, string> = {
  userId: 'usr', connectionId: 'con', jobId: 'job', accountId: 'acc', endpointId: 'whe', eventId: 'evt', deliveryId: 'whd',
  deletionId: 'del', importId: 'imp', applicationId: 'app', existingConnectionId: 'con', cancelledJobId: 'job', deletionRecordId: 'del',
};
const NAMED: Record<string, string> = {
  institutionId: 'ins_sandbox_web', provider: 'sandbox', currency: 'AUD', country: 'AU', email: 'jo@example.com', url: 'https://hooks.example.com/causeway',
  redirectUri: 'https://app.example.com/banks/done', cursor: 'eyJ0IjoiMjAyNi0wMy0wMiJ9', nextCursor: 'eyJ0IjoiMjAyNi0wMy0wMiJ9', token: 'ct_EXAMPLEexampleEXAMPLEexampleEXAMPLE',
  accessToken: 'access-sandbox-4f1c2a9e', login: 'user_good', password: 'pass_good', code: '1234', advanceBy: 'P1D', persona: 'user_good',
  user: 'cust_8842', name: 'Everyday Access', message: 'What happened, in a sentence', description: 'Production receiver', scope: 'transactions',
  secret: 'whsec_EXAMPLEexampleEXAMPLEexample00', actor: 'api_key:key_01jq3v4b5c6d7e8f9g0h1j2k3m', requestedBy: 'api_key:key_01jq3v4b5c6d7e8f9g0h1j2k3m',
  environment: 'sandbox', reason: 'institution_unavailable', hour: '2026-03-02T09:00:00.000Z', prompt: 'Enter the code we sent to your phone',
};

export interface ExampleOptions {
  /** Request bodies: only the required fields (an example that sends every optional field at once is rarely a sensible call). */
  requiredOnly: boolean;
}

export function exampleOf(doc: Doc, schema: Json, opts: ExampleOptions, name = '', depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return undefined;
  if (typeof schema.$ref === 'string') {
    const target: Json | undefined = schema.$ref.replace(/^#\//, '').split('/').reduce((o: Json | undefined, k: string) => o?.[k], doc);
    return target ? exampleOf(doc, target, opts, name, depth + 1) : undefined;
  }
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.example !== undefined) return schema.example;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.find((v: unknown) => v !== null) ?? schema.enum[0];
  if (schema.default !== undefined && typeof schema.default !== 'object') return schema.default;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives)) {
    const branch = alternatives.find((b: Json) => b.type !== 'null') ?? alternatives[0];
    return exampleOf(doc, branch, opts, name, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((s: Json) => exampleOf(doc, s, opts, name, depth + 1)));
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') ?? 'null' : schema.type;
  switch (type) {
    case 'object': {
      const out: Json = {};
      const required: string[] = schema.required ?? [];
      for (const [key, sub] of Object.entries<Json>(schema.properties ?? {})) {
        if (opts.requiredOnly && !required.includes(key)) continue;
        const value = exampleOf(doc, sub, opts, key, depth + 1);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    case 'array': {
      const item = exampleOf(doc, schema.items, opts, name, depth + 1);
      return item === undefined || schema.maxItems === 0 ? [] : [item];
    }
    case 'string': return stringFor(schema, name);
    case 'integer': case 'number': {
      const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      const value = low ?? 1;
      return schema.maximum !== undefined && value > schema.maximum ? schema.maximum : value;
    }
    case 'boolean': return true;
    case 'null': return null;
    default: return undefined;
  }
}

function stringFor(schema: Json, name: string): string {
  const prefix = /\b([a-z]{2,5})_…/.exec(schema.description ?? '')?.[1]; // "A usr_… id", "The event id (evt_…)"
  const candidates = [
    prefix ? `${prefix}_${ID}` : undefined,
    schema.format === 'date-time' ? AT : undefined,
    schema.format === 'date' ? '2026-03-01' : undefined,
    schema.format === 'email' ? 'jo@example.com' : undefined,
    schema.format === 'uri' || schema.format === 'url' ? 'https://hooks.example.com/causeway' : undefined,
    NAMED[name],
    PREFIXES[name] ? `${PREFIXES[name]}_${ID}` : undefined,
    /At$/.test(name) ? AT : undefined,
    'sandbox', 'abc', `x_${ID}`,
  ].filter((c): c is string => c !== undefined);
  const fits = (s: string) => (schema.minLength === undefined || s.length >= schema.minLength)
    && (schema.maxLength === undefined || s.length <= schema.maxLength)
    && (schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(s));
  return candidates.find(fits) ?? 'x'.repeat(Math.max(1, schema.minLength ?? 1));
}
