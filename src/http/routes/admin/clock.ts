import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import { isoTimestamp } from '../../../validation.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

const nowSchema = z.object({ now: isoTime });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminClockApi = {
  get: defineRoute({
    method: 'GET',
    url: '/admin/api/clock',
    summary: "The test clock's time (only with TOKENS_TEST_CLOCK=on, never in production)",
    answer: nowSchema,
    errors: ['test_clock_disabled'],
  }),
  move: defineRoute({
    method: 'POST',
    url: '/admin/api/clock',
    summary: 'Move the test clock forward, for every process and role at once: periods end, renewals run, holds expire',
    body: z.union(
      [
        z.strictObject({ advanceSeconds: z.number().int().min(0).max(10 * 366 * 86_400) }),
        z.strictObject({ now: isoTimestamp }),
      ],
      { error: 'send {advanceSeconds} (a whole number >= 0) or {now} (an ISO-8601 time)' },
    ),
    answer: nowSchema,
    errors: ['test_clock_disabled', 'clock_backwards'],
  }),
} as const;

/** The shared test clock: only with TOKENS_TEST_CLOCK=on, never in production. */
export function clockRoutes(app: FastifyInstance, engine: Engine): void {
  const requireTestClock = () => {
    if (!engine.testClock) throw new EngineError('test_clock_disabled', 'the test clock is off (TOKENS_TEST_CLOCK=on enables it)');
    return engine.testClock;
  };

  mountRoute(app, adminClockApi.get, async () => ({ now: (await requireTestClock().now()).toISOString() }));

  mountRoute(app, adminClockApi.move, async ({ body }) => {
    const clock = requireTestClock();
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
