import fc from 'fast-check';

/** The JSON Schema that `z.toJSONSchema(schema, { io: 'input' })` writes, as far as the engine's routes use it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** Arbitraries for some properties by name, in place of what their schema would give (known users, features). */
export type Overrides = Record<string, fc.Arbitrary<unknown>>;

/**
 * Values a JSON Schema describes, as fast-check arbitraries: what a well-behaved client would send.
 * No maintained generator covers zod 4 with fast-check 4, and the subset the routes' schemas use is
 * small. Hostile values are added on top by the caller.
 */
export function arbitraryOf(schema: JsonSchema, overrides: Overrides = {}): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => arbitraryOf(s, overrides)));
  if (schema.allOf?.length) return arbitraryOf(schema.allOf[0]!, overrides);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      if (schema.properties) {
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, value] of Object.entries(schema.properties)) record[key] = overrides[key] ?? arbitraryOf(value, overrides);
        return fc.record(record, { requiredKeys: schema.required ?? [] });
      }
      const values = typeof schema.additionalProperties === 'object' ? arbitraryOf(schema.additionalProperties, overrides) : fc.jsonValue();
      return fc.dictionary(fc.string({ maxLength: 12 }), values, { maxKeys: 6 });
    }
    case 'array':
      return fc.array(schema.items ? arbitraryOf(schema.items, overrides) : fc.jsonValue(), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 8, 8) });
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1e9, -1e9), max: Math.min(schema.maximum ?? 1e9, 1e9) });
    case 'number':
      return fc.double({ min: schema.minimum ?? schema.exclusiveMinimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case undefined:
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

function stringOf(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return fc.date({ min: new Date('1969-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uuid') return fc.uuid({ version: 4 });
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 300) });
}

/** Strings no client should send and every route must refuse cleanly: U+0000, lone surrogates, huge ones. */
export const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.constantFrom('\ud800', '\udfff', 'a\ud83dz', '\ude00tail', 'x'.repeat(20_000), '%00', '\\u0000', '😀'.repeat(200)),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Values nested `min` to `max` levels deep (alternating objects and arrays). */
export const nestedValue = (min: number, max: number) =>
  fc.integer({ min, max }).map((depth) => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { nested: value };
    return value;
  });

/** Values nested about as deep as the engine allows (32), and far deeper. */
export const deepValue = nestedValue(20, 80);

/**
 * A value the schema allows, made hostile in one place at random: a string swapped for a hostile one,
 * a value swapped for a deep one or a different type, or an unknown key added.
 */
export function hostile(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const replacement = fc.oneof(hostileString, deepValue, fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, -1, 1e308, 2 ** 53, true, [], {}));
  return fc.tuple(valid, fc.nat(), replacement, fc.boolean()).map(([value, pick, bad, addKey]) => {
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, path: Array<string | number>) => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(value, []);
    const path = paths[pick % paths.length]!;
    if (path.length === 0) return addKey && value && typeof value === 'object' ? { ...value, ['extra\u0000key']: bad } : bad;
    const copy = structuredClone(value) as Record<string | number, unknown>;
    let target = copy;
    for (const step of path.slice(0, -1)) target = target[step] as Record<string | number, unknown>;
    target[path.at(-1)!] = bad;
    return copy;
  });
}
