import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { deleteRule, listRules, putRule } from '../../../pricing/rules.js';
import { ruleDefinitionSchema, ruleIdSchema } from '../../../pricing/rule-definition.js';
import { adminActor } from '../../auth.js';
import { parse } from '../../errors.js';

const params = z.object({ id: ruleIdSchema });

export function pricingRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/pricing-rules', async () => ({ rules: await listRules(engine.db) }));

  app.put('/admin/api/pricing-rules/:id', async (request) => {
    const { id } = parse(params, request.params, 'rule id');
    const definition = parse(ruleDefinitionSchema, request.body, 'pricing rule');
    return putRule(engine.db, id, definition, adminActor(request), await engine.clock.now());
  });

  app.delete('/admin/api/pricing-rules/:id', async (request) => {
    const { id } = parse(params, request.params, 'rule id');
    await deleteRule(engine.db, id, adminActor(request), await engine.clock.now());
    return { id, deleted: true };
  });
}
