import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../engine.js';

const pageDir = fileURLToPath(new URL('../../admin-page/', import.meta.url));
// Chart.js is served from the installed package: the machines have no internet, so no CDN.
const chartJs = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');

// A Map, not an object literal: a name such as `__proto__` or `constructor` must find nothing.
const assets = new Map<string, { file: string; type: string }>([
  ['admin.js', { file: path.join(pageDir, 'admin.js'), type: 'text/javascript; charset=utf-8' }],
  ['admin.css', { file: path.join(pageDir, 'admin.css'), type: 'text/css; charset=utf-8' }],
  ['chart.umd.js', { file: chartJs, type: 'text/javascript; charset=utf-8' }],
]);

/** The admin dashboard page and its static assets; the caller scopes them behind admin credentials. */
export function adminPageRoutes(app: FastifyInstance, _engine: Engine): void {
  app.get('/admin', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(await readFile(path.join(pageDir, 'index.html'))),
  );
  app.get<{ Params: { name: string } }>('/admin/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).header('cache-control', 'max-age=300').send(await readFile(asset.file));
  });
}
