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

/**
 * The first place in a JSON value that the engine could not store: nesting deeper than `maxDepth`, or a
 * string (key or value) with a character PostgreSQL cannot keep. Iterative, so that no depth of nesting
 * can exhaust the stack; `checkText: false` skips the strings when the caller knows they are clean.
 */
export function findUnstorable(value: unknown, opts: { maxDepth?: number; checkText?: boolean } = {}): UnstorableValue | undefined {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  const checkText = opts.checkText ?? true;
  if (maxDepth > 0 && isFlatAndStorable(value, checkText)) return undefined;
  const stack: Array<{ value: unknown; depth: number; path: Array<string | number> }> = [{ value, depth: 0, path: [] }];
  const where = (path: Array<string | number>) => path.join('.') || '(body)';
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      if (checkText && !isStorableText(item.value)) return { path: where(item.path), message: unstorableTextMessage };
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= maxDepth) return { path: where(item.path), message: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(item.value)) {
      item.value.forEach((v, i) => stack.push({ value: v, depth: item.depth + 1, path: [...item.path, i] }));
      continue;
    }
    for (const [key, v] of Object.entries(item.value)) {
      if (checkText && !isStorableText(key)) return { path: where([...item.path, key]), message: `a key ${unstorableTextMessage}` };
      stack.push({ value: v, depth: item.depth + 1, path: [...item.path, key] });
    }
  }
  return undefined;
}

/**
 * Whether `value` is a scalar or one object of scalars with nothing to refuse: what most bodies and every
 * path and query are, answered without the walk's stack and paths (it runs on every request). Anything
 * else goes through the walk, which names what is wrong.
 */
function isFlatAndStorable(value: unknown, checkText: boolean): boolean {
  if (typeof value === 'string') return !checkText || isStorableText(value);
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object') return false;
    if (checkText && (!isStorableText(key) || (typeof v === 'string' && !isStorableText(v)))) return false;
  }
  return true;
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
