import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, settled, startTestEngine, type TestEngine } from '../support/engine.js';
import { engineState, type EngineState } from '../support/state.js';

/** A request with a raw body: JSON.stringify would never write the bytes some of these cases need. */
async function raw(engine: TestEngine, method: string, path: string, body: string | Uint8Array<ArrayBuffer> | undefined, contentType = 'application/json') {
  const res = await fetch(`${engine.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { error: { code: string; message: string; details?: unknown } } };
}

describe('what the engine cannot store is refused at the door with a 400 in the contract shape', () => {
  let engine: TestEngine;
  let before: EngineState;

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    expect((await engine.api('POST', '/v1/accounts', { userId: 'strict', plan: 'monthly_pro' })).status).toBe(201);
    before = await engineState(engine);
  });
  afterAll(async () => engine?.stop());

  // Bodies written as JSON text, so that \u escapes reach the server as a client would send them.
  const refusedBodies: Array<[string, string, string, string, RegExp]> = [
    ['U+0000 in an idempotencyKey', 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"a\\u0000b"}', /idempotencyKey/],
    ['U+0000 in metadata', 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"m-1","metadata":{"note":"a\\u0000b"}}', /metadata\.note/],
    ['U+0000 in a metadata key', 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"m-2","metadata":{"a\\u0000":1}}', /metadata/],
    ['a lone high surrogate in an idempotencyKey', 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"k-\\ud800"}', /idempotencyKey/],
    ['a lone low surrogate in a batch event', 'POST', '/v1/usage/batch', '{"events":[{"userId":"strict","feature":"resume_upload","idempotencyKey":"k-\\udc00"}]}', /events\.0\.idempotencyKey/],
    ['metadata nested 100,000 deep', 'POST', '/v1/usage', `{"userId":"strict","feature":"resume_upload","idempotencyKey":"deep","metadata":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`, /JSON|deeper/],
    ['metadata nested 40 deep', 'POST', '/v1/usage', `{"userId":"strict","feature":"resume_upload","idempotencyKey":"deep-40","metadata":{"a":${'{"b":'.repeat(40)}1${'}'.repeat(40)}}}`, /deeper than 32/],
    ['occurredAt in year 0', 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"y0","occurredAt":"0000-01-01T00:00:00Z"}', /occurredAt/],
    ['U+0000 in a userId', 'POST', '/v1/accounts', '{"userId":"a\\u0000"}', /userId/],
    ['U+0000 in a check', 'POST', '/v1/check', '{"userId":"strict","feature":"resume\\u0000"}', /feature/],
  ];

  it.each(refusedBodies)('%s', async (_name, method, path, body, where) => {
    const r = await raw(engine, method, path, body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(`${r.body.error.message} ${JSON.stringify(r.body.error.details)}`).toMatch(where);
  });

  it('two keys that differ only in their lone surrogates are both refused, not taken for one key (409)', async () => {
    const first = await raw(engine, 'POST', '/v1/usage', '{"userId":"strict","feature":"resume_upload","idempotencyKey":"twin-\\ud800"}');
    const second = await raw(engine, 'POST', '/v1/usage', '{"userId":"strict","feature":"profile_basic","idempotencyKey":"twin-\\ud801"}');
    expect([first.status, second.status]).toEqual([400, 400]);
    expect([first.body.error.code, second.body.error.code]).toEqual(['validation_failed', 'validation_failed']);
  });

  it('a body that is not UTF-8 is refused rather than stored with U+FFFD', async () => {
    const bytes = new Uint8Array(Buffer.concat([Buffer.from('{"userId":"strict","feature":"resume_upload","idempotencyKey":"bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
    const r = await raw(engine, 'POST', '/v1/usage', bytes);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/UTF-8/) });
  });

  const adminBodies: Array<[string, string, string, string]> = [
    ['U+0000 in a grant reason', 'POST', '/admin/api/accounts/strict/grants', '{"tokens":5,"reason":"a\\u0000b"}'],
    ['a lone surrogate in a grant idempotencyKey', 'POST', '/admin/api/accounts/strict/grants', '{"tokens":5,"reason":"ok","idempotencyKey":"\\udfff"}'],
    ['U+0000 in a plan name', 'PUT', '/admin/api/plans/monthly_pro', '{"name":"Pro\\u0000"}'],
    ['U+0000 in a campaign name', 'PUT', '/admin/api/campaigns/winter', '{"name":"W\\u0000","startsAt":"2026-12-01T00:00:00Z","endsAt":"2026-12-31T00:00:00Z","bonus":{"tokens":5}}'],
    ['a pricing rule starting in year 0', 'PUT', '/admin/api/pricing-rules/ancient', '{"match":{"tiers":["BASIC"]},"multiplier":2,"startsAt":"0000-01-01T00:00:00Z"}'],
    ['a grant expiring in year 0', 'POST', '/admin/api/accounts/strict/grants', '{"tokens":5,"reason":"ok","expiresAt":"0000-06-01T00:00:00Z"}'],
  ];

  it.each(adminBodies)('admin: %s', async (_name, method, path, body) => {
    const res = await fetch(`${engine.baseUrl}${path}`, { method, headers: { authorization: 'Bearer test-admin-key', 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe('validation_failed');
  });

  it('U+0000 in a path parameter or a query string is refused on every route', async () => {
    for (const path of ['/v1/usage/a%00b', '/v1/accounts/strict/ledger?cursor=%00', '/v1/accounts/a%00b']) {
      const r = await engine.api('GET', path);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 400, 'validation_failed']);
    }
    const admin = await engine.admin('GET', '/admin/api/alerts?userId=%00');
    expect([admin.status, admin.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('after every refusal, nothing changed: balances, ledger, audit log, queues and Redis are as they were', async () => {
    expect(await engineState(engine)).toEqual(before);
  });
});

describe("every key POST /v1/usage accepts can be polled, and Fastify's own refusals speak the contract", () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'poller', plan: 'monthly_pro' });
  });
  afterAll(async () => engine?.stop());

  it.each([
    ['255 ASCII characters', 'k'.repeat(255)],
    ['255 three-byte characters', '€'.repeat(255)],
    ['slashes, question marks and percent signs', `a/b?c#d%25e ${'x'.repeat(200)}`],
    ['astral characters (surrogate pairs)', '😀'.repeat(127)],
  ])('a key of %s', async (_name, key) => {
    const posted = await engine.api('POST', '/v1/usage', { userId: 'poller', feature: 'profile_basic', idempotencyKey: key });
    expect(posted.status).toBe(202);
    const polled = await engine.api('GET', `/v1/usage/${encodeURIComponent(key)}`);
    expect(polled.status).toBe(200);
    expect(polled.body.idempotencyKey).toBe(key);
    expect(await settled(engine, key)).toMatchObject({ status: 'applied', idempotencyKey: key });
  });

  it('a key longer than any accepted one is a 400 naming the limit, however it is encoded', async () => {
    const plain = await engine.api('GET', `/v1/usage/${'k'.repeat(256)}`);
    expect([plain.status, plain.body.error.code]).toEqual([400, 'validation_failed']);
    const huge = await engine.api('GET', `/v1/usage/${'k'.repeat(5000)}`);
    expect([huge.status, huge.body.error.code]).toEqual([400, 'validation_failed']);
  });

  it('bad percent-encoding in a path is a 400 in the contract shape', async () => {
    for (const path of ['/v1/usage/%zz', '/v1/usage/a%ED%A0%80b', '/v1/accounts/%E0%A4%A']) {
      const r = await engine.api('GET', path);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 400, 'validation_failed']);
    }
  });

  it('a wrong content type, an oversized body, empty JSON and a 404 all answer in the contract shape', async () => {
    const xml = await raw(engine, 'POST', '/v1/usage', '<usage/>', 'application/xml');
    expect([xml.status, xml.body.error.code]).toEqual([415, 'unsupported_media_type']);
    const big = await raw(engine, 'POST', '/v1/usage/batch', JSON.stringify({ events: [{ pad: 'x'.repeat(9 * 1024 * 1024) }] }));
    expect([big.status, big.body.error.code]).toEqual([413, 'payload_too_large']);
    const empty = await raw(engine, 'POST', '/v1/usage', '');
    expect([empty.status, empty.body.error.code]).toEqual([400, 'validation_failed']);
    const missing = await engine.api('GET', '/v1/nowhere');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'not_found']);
  });

  it('a request that is not even HTTP is answered in the contract shape', async () => {
    const url = new URL(engine.baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write('GET /v1/features HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'validation_failed' } });
  });
});
