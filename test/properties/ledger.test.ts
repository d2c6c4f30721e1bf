import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../support/engine.js';
import { WEBHOOK_SECRET } from '../billing/stripe.js';
import { FEATURE_LANES, Tally, propertyParameters, runSequences, sequenceArbitrary, type Sequence } from './driver.js';

// Short sequences while the clock stands still: grants, uses (alone, in batches, naming holds), holds,
// releases, checks, price changes, Stripe top-ups and refunds, replays, rollups. Each sequence opens its
// own accounts on one shared engine, and four run side by side (each with features of its own, since
// prices are global), so 200 sequences fit in the CI budget.
const LANES = FEATURE_LANES.length;
const SEQUENCES = Number(process.env.PROPERTY_SEQUENCES ?? 200);

describe('any sequence of ledger operations leaves the engine where the model says, with no invariant broken', () => {
  let engine: TestEngine;
  const prices = new Map<string, number>();
  beforeAll(async () => {
    engine = await startTestEngine({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    await engine.setClock('2027-01-04T10:00:00Z');
    const catalog = (await engine.api('GET', '/v1/features')).body.features as Array<{ key: string; baseCost: number }>;
    for (const key of FEATURE_LANES.flat()) prices.set(key, catalog.find((f) => f.key === key)!.baseCost);
  });
  afterAll(async () => engine?.stop());

  it('grants, uses, holds, releases, price changes, refunds: balance, held, used and allocated agree after every step', async () => {
    const tally = new Tally();
    const started = Date.now();
    let runs = 0;
    const lanes = fc.array(sequenceArbitrary({ clock: false, minOps: 3, maxOps: 12 }), { minLength: LANES, maxLength: LANES });
    await fc.assert(
      fc.asyncProperty(lanes, (seqs) => runSequences(engine, prices, tally, `pa${++runs}`, seqs)),
      propertyParameters<[Sequence[]]>('ledger operations', Math.ceil(SEQUENCES / LANES)),
    );
    console.log(`[property] ledger operations: ${runs * LANES} sequences (${runs} runs of ${LANES} lanes) in ${((Date.now() - started) / 1000).toFixed(1)} s; ${tally}`);
  }, 600_000);
});
