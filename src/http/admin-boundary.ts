import helmet from 'helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { errorBody } from './errors.js';

/**
 * The one Content-Security-Policy of everything under /admin: the page, its assets, the admin API and
 * bull-board. Only the engine's own scripts, styles and requests; no inline code, no plugins, no frames.
 * Two relaxations, both for bull-board, whose UI the engine does not build:
 * - `base-uri 'self'` rather than 'none': its page sets `<base href="/admin/queues/">` to resolve its own
 *   relative URLs (scripts, styles, API calls); a blocked base breaks every one of them.
 * - one hash in `style-src`: the `<style>` its UI renders inside the Redis logo (the logo's colours). A
 *   hash admits that exact text and nothing else; a bull-board upgrade that changes it shows as a CSP
 *   violation in test/admin/admin-security.browser.test.ts.
 */
export const adminContentSecurityPolicy = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'sha256-r2N1TB/gHbBtBZFKg7ejmq1acVSREzucTAEw6ga4hoU='"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const readOnlyMethods = new Set(['GET', 'HEAD']);

/** Whether a request's path lies under /admin, as the router sees it (it decodes `%61dmin`). */
function underAdmin(request: FastifyRequest): boolean {
  let path = request.routeOptions.url;
  if (path === undefined) {
    const raw = request.url.split('?')[0]!;
    try {
      path = decodeURIComponent(raw);
    } catch {
      path = raw;
    }
  }
  return path === '/admin' || path.startsWith('/admin/');
}

/**
 * Why a state-changing admin request must be refused as a cross-site request forgery, if it must. A
 * browser names where a request comes from (`Sec-Fetch-Site`, `Origin`); a request with neither header
 * (curl, a server) is not a browser's and passes. The engine's own origin is TOKENS_PUBLIC_URL's when
 * set (behind a proxy that rewrites Host or terminates TLS), otherwise the origin of the request's Host.
 */
export function crossSiteReason(request: FastifyRequest, publicOrigin: string | undefined): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site is ${site}`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  if (publicOrigin !== undefined) return origin === publicOrigin ? undefined : `Origin ${origin} is not ${publicOrigin}`;
  let host: string | undefined;
  try {
    const url = new URL(origin);
    if (url.protocol === 'http:' || url.protocol === 'https:') host = url.host;
  } catch {
    // "null" (a sandboxed frame, a privacy-sensitive redirect) and garbage are no origin of ours.
  }
  return host !== undefined && host === request.headers.host ? undefined : `Origin ${origin} is not this engine's (${request.headers.host ?? 'no Host'})`;
}

/**
 * Everything under /admin answers with the security headers (frames refused, no sniffing, the CSP above),
 * and a state change that a browser sends from another origin is refused with 403 before it does anything,
 * before authentication included: a browser's cached Basic credentials must not be usable by another site.
 */
export function installAdminBoundary(app: FastifyInstance, config: Pick<Config, 'publicOrigin'>): void {
  // helmet itself rather than @fastify/helmet: the plugin adds two hooks to every request, the service
  // API's included, where these headers have no use; this sets them only under /admin.
  const setSecurityHeaders = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: adminContentSecurityPolicy },
    frameguard: { action: 'deny' },
    // With `no-referrer` a browser sends `Origin: null` on same-origin POSTs, which would read as cross-site.
    referrerPolicy: { policy: 'same-origin' },
    // TLS and its HSTS policy are the terminating proxy's to decide, for the whole host.
    strictTransportSecurity: false,
  });
  // A callback hook: it runs on every request, the service API's included, where an async one would cost
  // a promise for nothing.
  app.addHook('onRequest', (request, reply, done) => {
    if (!underAdmin(request)) return done();
    let failure: Error | undefined;
    setSecurityHeaders(request.raw, reply.raw, (error?: unknown) => {
      // helmet's own error, as it reported it.
      if (error) failure = error instanceof Error ? error : new Error('the security headers could not be set');
    });
    if (failure) return done(failure);
    if (readOnlyMethods.has(request.method)) return done();
    const reason = crossSiteReason(request, config.publicOrigin);
    if (reason === undefined) return done();
    void reply.status(403).send(errorBody('cross_site_request', `admin changes are refused from another site (${reason})`));
  });
}
