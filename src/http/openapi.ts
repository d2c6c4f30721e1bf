import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiParameters, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import type { ErrorCode } from '../errors.js';
import { statusOfCode } from './errors.js';
import type { RouteDefinition } from './route-definition.js';
import { errorSchema } from './schemas/error.js';
import { webhookHeadersSchema, alertWebhookSchema, warningWebhookSchema } from './schemas/webhooks.js';
import { apiRoutes } from './api-routes.js';

/** Path and query schemas are objects (a pipe or a refinement of one, at most). */
type ObjectSchema = NonNullable<ZodOpenApiParameters['path']>;

/** Who may call a route follows from where app.ts mounts it, which is by its path. */
export type Access = 'service' | 'admin' | 'public';

export function accessOf(url: string): Access {
  if (url.startsWith('/v1/')) return 'service';
  if (url.startsWith('/admin/')) return 'admin';
  return 'public';
}

const security: Record<Access, Array<Record<string, string[]>>> = {
  service: [{ serviceKey: [] }],
  admin: [{ adminKey: [] }, { adminBasic: [] }],
  public: [],
};

const tags: Record<Access, string> = { service: 'Service API', admin: 'Admin API', public: 'Operations' };

/** `/v1/accounts/:userId` → `/v1/accounts/{userId}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * The error codes a route can answer with: its own, and those every route of its kind can. Any request
 * can be malformed (a query or path with U+0000, a bad URL) or meet an internal error; a keyed one can
 * lack its key; a body can be too large or not JSON; an admin change can come from another site; and
 * whatever reads PostgreSQL or Redis answers 503 while one is down.
 */
export function errorCodesOf(d: RouteDefinition): ErrorCode[] {
  const access = accessOf(d.url);
  const codes = new Set<ErrorCode>(['validation_failed', 'internal_error']);
  if (access !== 'public') codes.add('unauthorized');
  if (d.method !== 'GET') {
    codes.add('payload_too_large');
    codes.add('unsupported_media_type');
    if (access === 'admin') codes.add('cross_site_request');
  }
  if (!d.standalone) codes.add('dependency_unavailable');
  for (const code of d.errors ?? []) codes.add(code);
  return [...codes];
}

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again (`backlogged`, `account_busy`)', schema: { type: 'integer' } },
} as const;

function responses(d: RouteDefinition): ZodOpenApiResponsesObject {
  const answerType = d.answerType ?? 'application/json';
  const success = { content: { [answerType]: { schema: d.answer } } };
  const out: ZodOpenApiResponsesObject = {
    [String(d.status ?? 200)]: { description: d.answer.description ?? 'Success', ...success },
  };
  for (const [status, description] of Object.entries(d.otherStatuses ?? {})) out[status as '200'] = { description, ...success };

  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(d)) byStatus.set(statusOfCode(code), [...(byStatus.get(statusOfCode(code)) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status) as '400'] = {
      description: `\`${codes.join('`, `')}\``,
      ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code'], properties: { code: { enum: codes } } } } },
            ],
          },
        },
      },
    };
  }
  return out;
}

function operation(group: string, name: string, d: RouteDefinition): ZodOpenApiOperationObject {
  const access = accessOf(d.url);
  const params: ZodOpenApiParameters = {
    ...(d.params ? { path: d.params as ObjectSchema } : {}),
    ...(d.query ? { query: d.query as ObjectSchema } : {}),
    ...(d.headers ? { header: d.headers } : {}),
  };
  return {
    operationId: `${group}${name[0]!.toUpperCase()}${name.slice(1)}`,
    summary: d.summary,
    ...(d.description ? { description: d.description } : {}),
    tags: [d.url.startsWith('/webhooks/') ? 'Payments' : tags[access]],
    security: security[access],
    ...(Object.keys(params).length ? { requestParams: params } : {}),
    ...(d.body
      ? { requestBody: { required: !d.body.safeParse(undefined).success, content: { 'application/json': { schema: d.body } } } }
      : {}),
    responses: responses(d),
  };
}

/** Every route the engine documents, with the name of its group (its file's definitions). */
export function documentedRoutes(): Array<{ group: string; name: string; definition: RouteDefinition }> {
  return Object.entries(apiRoutes).flatMap(([group, routes]) =>
    Object.entries(routes as Record<string, RouteDefinition>).map(([name, definition]) => ({ group, name, definition })),
  );
}

const webhook = (summary: string, description: string, schema: typeof warningWebhookSchema | typeof alertWebhookSchema): ZodOpenApiOperationObject => ({
  summary,
  description,
  tags: ['Webhooks'],
  requestParams: { header: webhookHeadersSchema },
  requestBody: { required: true, content: { 'application/json': { schema } } },
  responses: {
    '2XX': { description: 'Received: any 2xx acknowledges the message; anything else (a redirect too) is retried with backoff.' },
  },
});

function buildDocument(): Record<string, unknown> {
  const paths: ZodOpenApiPathsObject = {};
  for (const { group, name, definition } of documentedRoutes()) {
    const path = (paths[openApiPath(definition.url)] ??= {});
    const method = definition.method.toLowerCase() as 'get';
    if (path[method]) throw new Error(`${definition.method} ${definition.url} is defined twice`);
    path[method] = operation(group, name, definition);
  }
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Token engine',
        version: '1',
        description: [
          'The metering and billing engine of the career-services product: services ask whether a user may use a feature (`/v1/check`), report the use (`/v1/usage`), and read balances and dashboards; admins edit prices and plans and watch analytics.',
          '',
          'JSON everywhere, UTF-8, times as ISO-8601 UTC strings, tokens as integers. Every non-2xx answer is the `Error` shape. The contract grows only by adding: a field, an endpoint, an option.',
          '',
          'Besides the codes each operation lists, any request can be answered `408 request_timeout` (it did not arrive in time) or `431` (headers too large) before it reaches a route, and `404 not_found` for a path with no route.',
        ].join('\n'),
      },
      tags: [
        { name: 'Service API', description: 'For the product\'s services: `Authorization: Bearer <one of TOKENS_API_KEYS>`.' },
        { name: 'Admin API', description: 'For admins and the admin console: `Authorization: Bearer <one of TOKENS_ADMIN_KEYS>` (or HTTP Basic, the key as password). Changes are audited and refused from other sites.' },
        { name: 'Payments', description: 'Stripe\'s webhook endpoint, verified with `Stripe-Signature`.' },
        { name: 'Operations', description: 'Probes, metrics and this document: no key.' },
        { name: 'Webhooks', description: 'What the engine POSTs to `TOKENS_NOTIFY_WEBHOOK_URL` (and `TOKENS_ALERT_WEBHOOK_URL`), signed as Standard Webhooks sign.' },
      ],
      paths,
      webhooks: {
        'tokens.warning': {
          post: webhook(
            'An account crossed 90, 95 or 100 percent used',
            'Once per level per account per period, with the seed\'s messages. Retried until a 2xx; `webhook-id` is stable across retries, so receivers dedupe on it.',
            warningWebhookSchema,
          ),
        },
        'tokens.alert': {
          post: webhook(
            'Unusual usage, or a ledger invariant found broken',
            'From the `alerts` job (bursts, rejections, rate, around-the-clock use) and the nightly `reconcile`. Sent to the admin webhook.',
            alertWebhookSchema,
          ),
        },
      },
      components: {
        schemas: { Error: errorSchema },
        securitySchemes: {
          serviceKey: { type: 'http', scheme: 'bearer', description: 'One of TOKENS_API_KEYS' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'One of TOKENS_ADMIN_KEYS' },
          adminBasic: { type: 'http', scheme: 'basic', description: 'Any user name, one of TOKENS_ADMIN_KEYS as the password (browsers)' },
        },
      },
    },
    {
      // zod bounds every integer to the safe range; the document says "integer" and leaves that implied.
      override: ({ jsonSchema }) => {
        if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
        if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      },
    },
  ) as unknown as Record<string, unknown>;
}

let document: Record<string, unknown> | undefined;

/** The engine's OpenAPI 3.1 document, built once from the routes' definitions; served at /openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  return (document ??= buildDocument());
}
