import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listAlerts } from '../../../notify/alerts.js';
import { userIdSchema } from '../../../validation.js';
import { parse } from '../../errors.js';

const listQuery = z.object({
  userId: userIdSchema.optional(),
  rule: z.enum(['burst', 'rejections', 'rate', 'around_the_clock']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Unusual usage the alerts job found, newest first. */
export function alertRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/alerts', async (request) => {
    const query = parse(listQuery, request.query, 'query');
    return { alerts: await listAlerts(engine.db, query) };
  });
}
