import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBody } from '../../src/http/routes/accounts.js';
import { checkBody } from '../../src/http/routes/gating.js';
import { usageEventSchema } from '../../src/usage/usage-event.js';
import { API_KEY, startTestEngine, type TestEngine } from '../support/engine.js';
import { engineState } from '../support/state.js';
import { arbitraryOf, hostile, hostileString, nestedValue, type JsonSchema } from '../support/json-schema-arbitrary.js';
import { findUnstorable } from '../../src/validation.js';

const USERS = ['fuzz-a', 'fuzz-b'];
const FEATURES = ['resume_upload', 'profile_basic', '00_Home.py', 'custom_ai_training'];

// Well-formed values the routes know, mixed with what the schemas' own patterns produce, so that a
// request gets past "no such account" often enough to reach the ledger and the queue.
const overrides = {
  userId: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...USERS) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,128}$/) }),
  feature: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FEATURES) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/) }),
  plan: fc.constantFrom('free_starter', 'monthly_pro', 'nonsense'),
  // Mostly within the accepted window (the clock stands at 2026-12-01T00:00, when the accounts were opened), sometimes far outside it.
  occurredAt: fc.oneof(
    { weight: 4, arbitrary: fc.date({ min: new Date('2026-12-01T00:00:00Z'), max: new Date('2026-12-01T00:04:00Z'), noInvalidDate: true }).map((d) => d.toISOString()) },
    { weight: 1, arbitrary: fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()) },
  ),
};

const schemaOf = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
const valid = (schema: z.ZodType) => arbitraryOf(schemaOf(schema), overrides);
/** Mostly hostile, sometimes valid: both must be answered without a 500. */
const bodyOf = (arb: fc.Arbitrary<unknown>) => fc.oneof({ weight: 2, arbitrary: hostile(arb) }, { weight: 1, arbitrary: arb });

const usageEvent = valid(usageEventSchema);

/** Percent-encodes like encodeURIComponent, but sends a lone surrogate as its (invalid) 3 UTF-8 bytes, as a hostile client can. */
function encodeSegment(s: string): string {
  return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\s\S]/g, (c) => {
    const unit = c.charCodeAt(0);
    if (c.length === 1 && unit >= 0xd800 && unit <= 0xdfff) return `%${(0xe0 | (unit >> 12)).toString(16)}%${(0x80 | ((unit >> 6) & 0x3f)).toString(16)}%${(0x80 | (unit & 0x3f)).toString(16)}`.toUpperCase();
    return encodeURIComponent(c);
  });
}
const segment = fc.oneof(overrides.userId, hostileString, fc.string({ maxLength: 300 }));

interface Request {
  method: string;
  path: string;
  body?: unknown;
}

const requests: Array<[string, fc.Arbitrary<Request>]> = [
  ['POST /v1/accounts', bodyOf(valid(createBody)).map((body) => ({ method: 'POST', path: '/v1/accounts', body }))],
  ['POST /v1/check', bodyOf(valid(checkBody)).map((body) => ({ method: 'POST', path: '/v1/check', body }))],
  ['POST /v1/usage', bodyOf(usageEvent).map((body) => ({ method: 'POST', path: '/v1/usage', body }))],
  [
    'POST /v1/usage/batch',
    bodyOf(fc.record({ events: fc.array(usageEvent, { minLength: 1, maxLength: 3 }) })).map((body) => ({ method: 'POST', path: '/v1/usage/batch', body })),
  ],
  ['GET /v1/usage/{key}', segment.map((key) => ({ method: 'GET', path: `/v1/usage/${encodeSegment(key)}` }))],
  [
    'GET /v1/accounts/{userId}[/ledger|/holds|/dashboard]',
    fc
      .tuple(segment, fc.constantFrom('', '/ledger', '/holds', '/dashboard'), fc.oneof(fc.constant(''), hostileString.map((s) => `?cursor=${encodeSegment(s)}&limit=${encodeSegment(s)}`)))
      .map(([id, tail, query]) => ({ method: 'GET', path: `/v1/accounts/${encodeSegment(id)}${tail}${query}` })),
  ],
  ['DELETE /v1/reservations/{id}', fc.oneof(fc.uuid(), segment).map((id) => ({ method: 'DELETE', path: `/v1/reservations/${encodeSegment(id)}` }))],
];

describe('fuzzing the public routes: no 500, whatever is sent, and a refusal changes nothing', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    // No workers: what is accepted stays queued, so nothing changes behind a request's back.
    engine = await startTestEngine({ TOKENS_ROLES: 'api' });
    await engine.setClock('2026-12-01T00:00:00Z');
    for (const userId of USERS) await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' });
  });
  afterAll(async () => engine?.stop());

  const send = async (r: Request) => {
    const res = await fetch(`${engine.baseUrl}${r.path}`, {
      method: r.method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
    });
    const text = await res.text();
    return { status: res.status, text };
  };

  it.each(requests)('%s', async (route, arbitrary) => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(arbitrary, async (request) => {
        const before = await engineState(engine);
        const answer = await send(request);
        statuses.add(answer.status);
        expect(answer.status, `${request.method} ${request.path.slice(0, 200)} -> ${answer.text.slice(0, 300)}`).toBeLessThan(500);
        if (answer.status >= 400) {
          const body = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown } };
          expect(typeof body.error?.code).toBe('string');
          expect(typeof body.error?.message).toBe('string');
          expect(await engineState(engine)).toEqual(before);
        } else if (request.path.startsWith('/v1/usage')) {
          // Nothing accepted can fail later in a worker for being malformed: what was queued is storable.
          expect(findUnstorable(request.body), JSON.stringify(request.body).slice(0, 300)).toBeUndefined();
        }
      }),
      { numRuns: 50, seed: Number(process.env.FUZZ_SEED ?? 20261202) },
    );
    // The generator reaches past validation too: some requests to each body route are accepted.
    if (route.startsWith('POST')) expect([...statuses].some((s) => s < 300), `statuses seen: ${[...statuses].join(', ')}`).toBe(true);
  });

  it('a body nested deeper than 32 levels is a 400 on every route that takes one, metadata included', async () => {
    const event = (metadata: unknown, key: string) => ({ userId: 'fuzz-a', feature: 'profile_basic', idempotencyKey: key, metadata: { deep: metadata } });
    let n = 0;
    await fc.assert(
      // Deeper than the limit, whatever the shrinking: the depth never falls to 32 or below.
      fc.asyncProperty(nestedValue(33, 300), async (deep) => {
        const key = `deep-${n++}`;
        const before = await engineState(engine);
        for (const [path, body] of [
          ['/v1/usage', event(deep, key)],
          ['/v1/usage/batch', { events: [event(deep, key)] }],
          ['/v1/accounts', { userId: key, plan: deep }],
          ['/v1/check', { userId: 'fuzz-a', feature: deep }],
        ] as const) {
          const answer = await send({ method: 'POST', path, body });
          expect([path, answer.status]).toEqual([path, 400]);
        }
        expect(await engineState(engine)).toEqual(before);
      }),
      { numRuns: 15 },
    );
  });
});
