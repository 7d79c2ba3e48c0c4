/**
 * How answers are written: only what the route's response schema declares, without checking again
 * the types the compiler already checked.
 *
 * fastify-type-provider-zod's serializer runs a full zod encode of every answer before
 * JSON.stringify: for a page of 50 transactions that costs more than the stringify itself. The
 * handlers' return types are checked against the same schemas at compile time (ZodTypeProvider),
 * so what that encode adds at run time is one thing: keys the schema does not declare are dropped,
 * so nothing a view did not mean to show (a column, a secret) leaves. This keeps exactly that: for
 * each schema a picker is built once, which copies the declared keys of every object (in the
 * schema's order, as zod writes them) and nothing else, then JSON.stringify writes the result.
 *
 * A schema with any part a picker cannot follow without validating (a default or a transform that
 * changes the value, a union of objects without a discriminator, lazy or intersection schemas) is
 * written by the zod serializer as before, whole.
 */
import { $ZodType } from 'zod/v4/core';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';

type Picker = (value: unknown) => unknown;
/** The value as it is (strings, numbers, enums, unknown JSON). */
const AS_IS: Picker = (v) => v;

interface Def { type: string; [k: string]: unknown }
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** A picker for the schema, or null when one cannot be built without validating. */
export function pickerFor(schema: unknown): Picker | null {
  const def = defOf(schema);
  switch (def.type) {
    case 'string': case 'number': case 'int': case 'boolean': case 'null': case 'enum': case 'literal':
    case 'unknown': case 'any': case 'date': case 'bigint':
      return AS_IS;
    case 'nullable': case 'optional': case 'readonly': case 'nonoptional': {
      const inner = pickerFor(def.innerType);
      if (!inner) return null;
      return inner === AS_IS ? AS_IS : (v) => (v === null || v === undefined ? v : inner(v));
    }
    case 'array': {
      const item = pickerFor(def.element);
      if (!item) return null;
      return item === AS_IS ? AS_IS : (v) => (Array.isArray(v) ? v.map(item) : v);
    }
    case 'record': {
      const item = pickerFor(def.valueType);
      if (!item) return null;
      return item === AS_IS ? AS_IS : (v) => {
        if (!v || typeof v !== 'object') return v;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = item(x);
        return out;
      };
    }
    case 'object': {
      const catchall = def.catchall ? defOf(def.catchall).type : 'never';
      if (catchall !== 'never') return catchall === 'unknown' || catchall === 'any' ? AS_IS : null;
      const fields: [string, Picker][] = [];
      for (const [key, field] of Object.entries(def.shape as Record<string, unknown>)) {
        const pick = pickerFor(field);
        if (!pick) return null;
        fields.push([key, pick]);
      }
      return objectPicker(fields);
    }
    case 'union':
      return unionPicker(def);
    default:
      return null; // default, prefault, catch, transform, pipe, lazy, intersection, tuple, …
  }
}

/**
 * Copies an object's declared keys, in the schema's order, leaving out those it does not have. The
 * function is written for the schema's keys (its code names each one), so every read and write is
 * of a known property: an answer's objects, all of one shape, are copied without a lookup by name
 * each time. The keys are the schema's own, quoted as JSON strings; no value becomes code.
 */
function objectPicker(fields: [string, Picker][]): Picker {
  const copies = fields.map(([key, pick], i) => {
    const k = JSON.stringify(key);
    return `x = v[${k}]; if (x !== undefined) o[${k}] = ${pick === AS_IS ? 'x' : `p[${i}](x)`};`;
  });
  const write = new Function('p', `return (v) => {
    if (!v || typeof v !== 'object') return v;
    const o = {};
    let x;
    ${copies.join('\n    ')}
    return o;
  };`) as (p: Picker[]) => Picker;
  return write(fields.map(([, pick]) => pick));
}

function unionPicker(def: Def): Picker | null {
  const options = def.options as unknown[];
  const pickers = options.map(pickerFor);
  if (pickers.some((p) => p === null)) return null;
  if (pickers.every((p) => p === AS_IS)) return AS_IS;
  // Objects told apart by a discriminator of literals: the option whose literal the value carries.
  const key = def.discriminator as string | undefined;
  if (!key) return null;
  const byValue = new Map<unknown, Picker>();
  for (const [i, option] of options.entries()) {
    const o = defOf(option);
    const tag = o.type === 'object' ? (o.shape as Record<string, unknown>)[key] : undefined;
    if (!tag || defOf(tag).type !== 'literal') return null;
    for (const value of defOf(tag).values as unknown[]) byValue.set(value, pickers[i]!);
  }
  return (v) => {
    const pick = v && typeof v === 'object' ? byValue.get((v as Record<string, unknown>)[key]) : undefined;
    if (!pick) throw new Error(`the answer's ${key} matches no option of its schema`);
    return pick(v);
  };
}

/** The route's zod schema, as fastify-type-provider-zod finds it. */
function zodSchemaOf(schema: unknown): unknown {
  if (schema instanceof $ZodType) return schema;
  const properties = (schema as { properties?: unknown } | null)?.properties;
  return properties instanceof $ZodType ? properties : null;
}

type Compiler = typeof zodSerializerCompiler;

export const serializerCompiler: Compiler = (route) => {
  const schema = zodSchemaOf(route.schema);
  const pick = schema ? pickerFor(schema) : null;
  if (!pick) return zodSerializerCompiler(route);
  return (data) => JSON.stringify(pick(data));
};
