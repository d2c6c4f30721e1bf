import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteOptions } from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildApp } from '../../src/http/app.js';
import { documentedRoutes, openApiPath } from '../../src/http/openapi.js';
import { call, startTestEngine, type TestEngine } from '../support/engine.js';
import { checkAgainstDocument, pagePaths } from '../support/openapi-check.js';

describe('the engine describes itself: GET /openapi.json', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(async () => engine?.stop());

  it('serves, without a key, an OpenAPI 3.1 document that a validator accepts', async () => {
    const r = await call<Record<string, any>>(engine.baseUrl, null, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(r.body as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    // The contract's routes, its security schemes and the webhooks the engine sends are in it.
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/v1/accounts', '/v1/accounts/{userId}', '/v1/check', '/v1/reservations/{reservationId}', '/v1/usage', '/v1/usage/batch', '/v1/usage/{idempotencyKey}', '/v1/accounts/{userId}/ledger', '/v1/accounts/{userId}/dashboard', '/v1/features', '/v1/plans', '/webhooks/stripe', '/admin/api/analytics', '/admin/api/features/{key}', '/admin/api/plans/{id}', '/admin/api/accounts/{userId}/grants', '/admin/api/alerts', '/admin/api/jobs/{name}/run', '/admin/api/clock', '/admin/api/pricing-rules/{id}', '/admin/api/campaigns/{id}', '/admin/api/loyalty', '/health', '/metrics']),
    );
    expect(Object.keys(r.body.components.securitySchemes)).toEqual(['serviceKey', 'adminKey', 'adminBasic']);
    expect(r.body.paths['/v1/check'].post.security).toEqual([{ serviceKey: [] }]);
    expect(r.body.paths['/admin/api/analytics'].get.security).toEqual([{ adminKey: [] }, { adminBasic: [] }]);
    expect(r.body.paths['/health'].get.security).toEqual([]);
    expect(Object.keys(r.body.webhooks)).toEqual(['tokens.warning', 'tokens.alert']);
    expect(r.body.webhooks['tokens.warning'].post.parameters.map((p: any) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
  });

  it('names, for each operation, the error codes it can answer with, in the contract\'s shape', async () => {
    const { body: doc } = await call<Record<string, any>>(engine.baseUrl, null, 'GET', '/openapi.json');
    const codesAt = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema.allOf[1].properties.error.properties.code.enum;
    expect(doc.paths['/v1/check'].post.responses['200']).toBeDefined();
    expect(codesAt('/v1/usage', 'post', '409')).toEqual(['idempotency_conflict']);
    expect(codesAt('/v1/usage', 'post', '429')).toEqual(['backlogged']);
    expect(doc.paths['/v1/usage'].post.responses['429'].headers['Retry-After']).toBeDefined();
    expect(codesAt('/v1/accounts/{userId}', 'get', '404')).toEqual(['account_not_found']);
    expect(codesAt('/v1/accounts/{userId}', 'get', '401')).toEqual(['unauthorized']);
    expect(codesAt('/admin/api/features/{key}', 'put', '403')).toEqual(['cross_site_request']);
    expect(codesAt('/webhooks/stripe', 'post', '400')).toEqual(['validation_failed', 'invalid_signature']);
    expect(doc.paths['/v1/usage'].post.responses['409'].content['application/json'].schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Error' });
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
  });

  it('documents every route the app registers, and registers every route it documents', async () => {
    const registered: string[] = [];
    const app = await buildApp(engine.running.engine, {
      onRoute: (route: RouteOptions) => {
        for (const method of [route.method].flat()) if (method !== 'HEAD') registered.push(`${method} ${openApiPath(route.url)}`);
      },
    });
    await app.ready();
    await app.close();
    const api = registered.filter((r) => !pagePaths.some((p) => p.test(r.split(' ')[1]!)));
    const documented = documentedRoutes().map(({ definition }) => `${definition.method} ${openApiPath(definition.url)}`);
    expect([...new Set(api)].sort()).toEqual([...documented].sort());
  });

  it('fails a test whose answer the document does not describe', () => {
    const account = { status: 200, contentType: 'application/json; charset=utf-8' };
    expect(() => checkAgainstDocument('GET', '/v1/accounts/ada', { ...account, body: { userId: 'ada' } })).toThrow(/does not match the document's schema/);
    expect(() => checkAgainstDocument('GET', '/v1/accounts/ada', { status: 409, contentType: 'application/json', body: { error: { code: 'idempotency_conflict', message: 'x' } } })).toThrow(
      /a status the document does not give/,
    );
    expect(() => checkAgainstDocument('GET', '/v1/accounts/ada', { status: 404, contentType: 'application/json', body: { error: { code: 'usage_not_found', message: 'x' } } })).toThrow(
      /code.*must be equal to one of the allowed values/,
    );
    expect(() => checkAgainstDocument('PATCH', '/v1/features', { status: 200, contentType: 'application/json', body: {} })).toThrow(/no operation PATCH/);
  });

  it('renders the document for people at /docs, without a key, from the engine\'s own assets', async () => {
    const page = await call<string>(engine.baseUrl, null, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('swagger-ui-bundle.js');
    expect(page.body).not.toMatch(/https?:\/\//);
    const res = await fetch(`${engine.baseUrl}/docs/static/swagger-ui-bundle.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});
