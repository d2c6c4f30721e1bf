import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import { defineRoute, mountRoute } from '../route-definition.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const docsApi = {
  openApi: defineRoute({
    method: 'GET',
    url: '/openapi.json',
    summary: 'This document: OpenAPI 3.1, generated from the zod schemas the routes validate and answer with',
    answer: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document'),
    standalone: true,
  }),
} as const;

/**
 * /docs: the document for people (Swagger UI), its scripts and styles served by the engine itself from
 * the swagger-ui-dist files @fastify/swagger-ui ships. Its page loads nothing from another host (no
 * validator badge, no web fonts), and its CSP says so. One hash in `style-src`: the `<style>` Swagger
 * UI renders inside its logo (the logo's colours); a hash admits that text and nothing else, and an
 * upgrade that changes it shows as a violation in test/http/docs.browser.test.ts.
 */
export const docsContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function docsRoutes(app: FastifyInstance, document: Record<string, unknown>): Promise<void> {
  mountRoute(app, docsApi.openApi, async () => document);
  await app.register(async (pages) => {
    // The static mode serves the document as it is: nothing is read from the routes.
    await pages.register(swagger, { mode: 'static', specification: { document: document as never } });
    await pages.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { validatorUrl: null, deepLinking: true } as never,
      staticCSP: docsContentSecurityPolicy,
      transformSpecificationClone: false,
    });
  });
}
