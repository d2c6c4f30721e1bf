import { z } from 'zod';

/**
 * U+0000 (PostgreSQL's text and jsonb refuse it) or a lone surrogate (UTF-8 cannot encode one: two
 * different strings would be stored as the same U+FFFD). Either makes a string the engine cannot keep.
 */
// oxlint-disable-next-line no-control-regex -- U+0000 is exactly the character refused
const unstorableCharacter = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(value: string): boolean {
  return !unstorableCharacter.test(value);
}

export const unstorableTextMessage = 'must not contain the control character U+0000 or a lone surrogate';

/** How deep the JSON the API accepts may nest (metadata included): deeper than any real payload. */
export const MAX_JSON_DEPTH = 32;

export interface UnstorableValue {
  path: string;
  message: string;
}

/** An object or array met by the walk, with the way back to the top (its path is spelt only when reported). */
interface Place {
  value: object;
  depth: number;
  parent?: Place;
  key?: string | number;
}

function pathOf(place: Place, key?: string | number): string {
  const parts: Array<string | number> = key === undefined ? [] : [key];
  for (let p: Place | undefined = place; p?.key !== undefined; p = p.parent) parts.push(p.key);
  return parts.reverse().join('.') || '(body)';
}

/**
 * The first place in a JSON value that the engine could not store: nesting deeper than `maxDepth`, or a
 * string (key or value) with a character PostgreSQL cannot keep. Iterative, so that no depth of nesting
 * can exhaust the stack; `checkText: false` skips the strings when the caller knows they are clean. It
 * runs on every request: scalars are checked where they are met, and only objects and arrays are kept,
 * each with a link to its parent rather than a copy of its path.
 */
export function findUnstorable(value: unknown, opts: { maxDepth?: number; checkText?: boolean } = {}): UnstorableValue | undefined {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const checkText = opts.checkText ?? true;
  if (value === null || typeof value !== 'object') {
    return checkText && typeof value === 'string' && !isStorableText(value) ? { path: '(body)', message: unstorableTextMessage } : undefined;
  }
  const stack: Place[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const place = stack.pop()!;
    if (place.depth >= maxDepth) return { path: pathOf(place), message: `nests deeper than ${maxDepth} levels` };
    const isArray = Array.isArray(place.value);
    const children = place.value as Record<string, unknown>;
    for (const name in children) {
      if (!Object.hasOwn(children, name)) continue;
      const key = isArray ? Number(name) : name;
      if (checkText && !isArray && !isStorableText(name)) return { path: pathOf(place, key), message: `a key ${unstorableTextMessage}` };
      const v = children[name];
      if (v !== null && typeof v === 'object') stack.push({ value: v, depth: place.depth + 1, parent: place, key });
      else if (checkText && typeof v === 'string' && !isStorableText(v)) return { path: pathOf(place, key), message: unstorableTextMessage };
    }
  }
  return undefined;
}

export const userIdSchema = z
  .string({ error: 'userId must be a string' })
  .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'userId must be 1-128 characters of A-Za-z0-9_.:@-');

export const featureKeySchema = z
  .string({ error: 'feature must be a string' })
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'feature must be 1-128 characters of A-Za-z0-9_.-');

export const planIdSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, 'plan must be a plan id such as monthly_pro');

/**
 * Every instant the API takes lies in one range: from the Unix epoch to the end of year 9999. Nothing the
 * engine meters predates 1970, and within it JavaScript, the JSON the API speaks and PostgreSQL's
 * timestamptz agree on every value (PostgreSQL has no year 0, which ISO-8601 and JavaScript accept).
 */
export const EARLIEST_INSTANT = new Date('1970-01-01T00:00:00.000Z');
export const LATEST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

export const isoTimestamp = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 timestamp' })
  .refine((value) => {
    const t = Date.parse(value);
    return t >= EARLIEST_INSTANT.getTime() && t <= LATEST_INSTANT.getTime();
  }, `must lie between ${EARLIEST_INSTANT.toISOString()} and ${LATEST_INSTANT.toISOString()}`);

/** zod issues as the `details` of a validation_failed error: where, and what is wrong there. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}
