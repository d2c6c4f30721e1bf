import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';

/** The package's root, found from this file whether it runs from src/ (tsx, tests) or a compiled dist/. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'token-engine') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('the token-engine package root was not found above src/http/routes/admin');
    dir = parent;
  }
}

/** Where `npm run build:console` puts the console (console/vite.config.ts). */
export const consoleDir = path.join(packageRoot(), 'console', 'dist');

/** The console's client-side pages (console/src/App.tsx): each answers the console's index.html. */
const pages = ['/admin', '/admin/', '/admin/features', '/admin/plans', '/admin/accounts', '/admin/accounts/:userId', '/admin/rewards', '/admin/operations'];

// A Map, not an object literal: a name such as `__proto__` or `constructor` must find nothing.
const types = new Map([
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.woff2', 'font/woff2'],
  ['.woff', 'font/woff'],
]);

/**
 * The admin console and its built assets; the caller scopes them behind admin credentials (and the admin
 * boundary, src/http/admin-boundary.ts, gives them the admin pages' CSP and security headers). Assets are
 * served only by name from the build's own listing (no path from the request ever reaches the file
 * system); their names carry a content hash, so they are cached for good.
 */
export function consoleRoutes(app: FastifyInstance, _engine: Engine): void {
  const assetsDir = path.join(consoleDir, 'assets');
  let listing = new Set<string>();
  const listed = async (name: string) => {
    // A rebuild while the engine runs brings new names: look again before answering 404.
    if (!listing.has(name)) listing = new Set(existsSync(assetsDir) ? await readdir(assetsDir) : []);
    return listing.has(name);
  };
  const index = async (reply: FastifyReply) => {
    const file = path.join(consoleDir, 'index.html');
    if (!existsSync(file)) throw new EngineError('console_not_built', 'the admin console is not built: run npm run build:console (npm start and npm test do it)');
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(await readFile(file));
  };
  for (const page of pages) app.get(page, async (_request, reply) => index(reply));

  app.get<{ Params: { name: string } }>('/admin/assets/:name', async (request, reply) => {
    const { name } = request.params;
    const type = types.get(path.extname(name));
    if (!type || !/^[A-Za-z0-9._-]+$/.test(name) || !(await listed(name))) return reply.callNotFound();
    return reply
      .header('cache-control', 'private, max-age=31536000, immutable')
      .type(type)
      .send(await readFile(path.join(assetsDir, name)));
  });
}
