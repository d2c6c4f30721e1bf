import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { userDashboard } from '../../insight/dashboard.js';
import { userIdSchema } from '../../validation.js';
import { parse } from '../errors.js';

export function dashboardRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/v1/accounts/:userId/dashboard', async (request) => {
    const { userId } = parse(z.object({ userId: userIdSchema }), request.params, 'userId');
    return userDashboard(engine.db, userId, await engine.clock.now());
  });
}
