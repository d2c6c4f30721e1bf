import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET } from '../billing/stripe.js';
import { FEATURE_LANES, Tally, propertyParameters, runSequences, sequenceArbitrary, type Sequence } from './driver.js';

// Fewer, longer sequences in which the clock moves: holds and grants expire (the `holds` job), periods
// end and renew (the `renewals` job). The clock is global, so these sequences run one at a time: the
// model starts each at the engine's time, and every advance runs both jobs before the next step.
describe('as time passes, expiries and renewals leave the engine where the model says', () => {
  let engine: TestEngine;
  const prices = new Map<string, number>();
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    // The 30th, late evening: periods that end on the last day of shorter months, days that end mid-step.
    await engine.setClock('2027-01-30T22:00:00Z');
    const catalog = (await engine.api('GET', '/v1/features')).body.features as Array<{ key: string; baseCost: number }>;
    for (const key of FEATURE_LANES.flat()) prices.set(key, catalog.find((f) => f.key === key)!.baseCost);
  });
  afterAll(async () => engine?.stop());

  it('holds expire, grants and packs expire, periods renew: balance, held, used, allocated and period agree after every step', async () => {
    const tally = new Tally();
    const started = Date.now();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(sequenceArbitrary({ clock: true, minOps: 4, maxOps: 12 }), (seq) => runSequences(engine, prices, tally, `pb${++runs}`, [seq])),
      propertyParameters<[Sequence]>('expiries and renewals', Number(process.env.PROPERTY_CLOCK_SEQUENCES ?? 30)),
    );
    console.log(`[property] expiries and renewals: ${runs} sequences in ${((Date.now() - started) / 1000).toFixed(1)} s; ${tally}`);
  }, 600_000);
});
