import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import { isoTimestamp } from '../../../validation.js';
import { parse } from '../../errors.js';

const moveBody = z.union(
  [
    z.strictObject({ advanceSeconds: z.number().int().min(0).max(10 * 366 * 86_400) }),
    z.strictObject({ now: isoTimestamp }),
  ],
  { error: 'send {advanceSeconds} (a whole number >= 0) or {now} (an ISO-8601 time)' },
);

/** The shared test clock: only with TOKENS_TEST_CLOCK=on, never in production. */
export function clockRoutes(app: FastifyInstance, engine: Engine): void {
  const requireTestClock = () => {
    if (!engine.testClock) throw new EngineError('test_clock_disabled', 'the test clock is off (TOKENS_TEST_CLOCK=on enables it)');
    return engine.testClock;
  };

  app.get('/admin/api/clock', async () => ({ now: (await requireTestClock().now()).toISOString() }));

  app.post('/admin/api/clock', async (request) => {
    const clock = requireTestClock();
    const body = parse(moveBody, request.body, 'clock move');
    const current = await clock.now();
    const target = 'now' in body ? new Date(body.now) : new Date(current.getTime() + body.advanceSeconds * 1000);
    if (!(await clock.set(target))) {
      throw new EngineError('clock_backwards', `the test clock only moves forward (it is ${current.toISOString()})`, {
        now: current.toISOString(),
      });
    }
    return { now: target.toISOString() };
  });
}
