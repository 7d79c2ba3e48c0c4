/**
 * The API document as a list of operations, for tests generated from it (test/fuzz.test.ts,
 * test/isolation.test.ts): a route added later is covered by them without an edit.
 */
import type { FastifyInstance } from 'fastify';

/** A JSON Schema node as @fastify/swagger writes it (OpenAPI 3.1). */
export type Schema = Record<string, any>;

export interface Parameter { name: string; in: 'path' | 'query' | 'header' | 'cookie'; required: boolean; schema: Schema }

export interface Operation {
  /** "POST /v1/users/{userId}/connections" */
  id: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The documented path, with {name} placeholders. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  /** The JSON body's schema, or null when the operation takes none. */
  body: Schema | null;
  /** Whether the document lets the call go without a credential (`security: []`). */
  isPublic: boolean;
}

export async function readOperations(app: FastifyInstance): Promise<Operation[]> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`/openapi.json answered ${res.statusCode}`);
  const doc = res.json();
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params: Parameter[] = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => resolve(doc, p));
      const content = op.requestBody ? resolve(doc, op.requestBody).content ?? {} : {};
      const json = content['application/json'];
      ops.push({
        id: `${method.toUpperCase()} ${path}`, method: method.toUpperCase() as Operation['method'], path,
        pathParams: params.filter((p) => p.in === 'path'), queryParams: params.filter((p) => p.in === 'query'),
        body: json ? resolve(doc, json.schema ?? {}) : null,
        isPublic: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  }
  return ops;
}

/** Follows a local $ref ("#/components/schemas/X"); the document has none today, but a later schema may. */
export function resolve(doc: any, node: any): any {
  let n = node;
  for (let i = 0; n && typeof n === 'object' && typeof n.$ref === 'string' && i < 20; i++) {
    n = n.$ref.replace(/^#\//, '').split('/').reduce((o: any, k: string) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return n;
}

/** The path with each {name} replaced by values[name], inserted as given (already encoded). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for path parameter ${name} of ${path}`);
    return v;
  });
}

/** A plausible value for a string field, by its name and format (the sandbox's magic values where they matter). */
export function plausibleString(name: string, schema: Schema): string | undefined {
  if (schema.format === 'email' || /email/i.test(name)) return 'someone@example.com';
  if (schema.format === 'date-time' || /^(from|to|at|since|until)$/.test(name)) return new Date(Date.UTC(2026, 0, 1)).toISOString();
  if (/url|uri/i.test(name)) return 'https://hooks.example.com/causeway';
  const known: Record<string, string> = {
    institutionId: 'ins_sandbox_web', login: 'user_good', password: 'pass_good', code: '1234', advanceBy: 'PT1H', persona: 'user_good',
  };
  return known[name];
}

/** One valid value for a schema, built deterministically (the first choice everywhere, required fields only). */
export function minimalValue(schema: Schema | undefined, name = '', doc: any = {}): unknown {
  const s = resolve(doc, schema ?? {}) ?? {};
  if ('default' in s && s.default !== undefined && s.type !== 'object') return s.default;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (Array.isArray(alt)) {
    const nonNull = alt.find((a: Schema) => a.type !== 'null');
    return minimalValue(nonNull ?? alt[0], name, doc);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return minimalValue(s.allOf[0], name, doc);
  const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of s.required ?? []) out[key] = minimalValue(s.properties?.[key], key, doc);
      return out;
    }
    case 'array': return Array.from({ length: s.minItems ?? 0 }, () => minimalValue(s.items, name, doc));
    case 'string': {
      const v = plausibleString(name, s) ?? 'x'.repeat(Math.max(1, s.minLength ?? 1));
      return s.maxLength !== undefined ? v.slice(0, s.maxLength) : v;
    }
    case 'integer': case 'number': return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case 'boolean': return false;
    case 'null': return null;
    default: return {};
  }
}
