import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { runJob, settled, waitFor, type TestEngine } from '../support/engine.js';
import { chargeRefunded, deliverAndApply, stripeId, tokenCheckout } from '../billing/stripe.js';
import { Model, type PlanId, type UsageOutcome } from './model.js';

/**
 * The features a sequence uses: one per tier from BASIC to PREMIUM, their prices moved by `price` steps.
 * Prices are global, so sequences that run side by side (lanes) each get features of their own.
 */
export const FEATURE_LANES: ReadonlyArray<readonly string[]> = [
  ['profile_basic', 'resume_upload', 'cv_generator', 'ai_interview_coach', 'personal_branding'],
  ['02_Profile.py', '04_Resume_Upload.py', '23_Tailored_CV_Generator.py', '07_AI_Interview_Coach.py', '10_Advanced_Career_Tools.py'],
  ['03_Profile_Setup.py', '05_Resume_Upload.py', '06_Job_Match.py', '06_Job_Match_Enhanced_AI.py', 'Enhanced_Sidebar_Demo.py'],
  ['21_Job_Title_Glossary.py', '07_JD_Upload.py', '08_Resume_Tuner.py', '10_AI_Insights.py', 'Enhanced_User_Demo.py'],
];
const FEATURES_PER_LANE = 5;
const ACCOUNTS = 2;

export type Op =
  | { kind: 'grant'; account: number; tokens: number; expiresInSeconds: number | null }
  /** `hold`: name a reservation: one of the account's open holds (`open`, if it has one) or any of the sequence's. */
  | { kind: 'use'; account: number; feature: number; hold: { pick: number; open: boolean; itsFeature: boolean } | null }
  | { kind: 'batch'; uses: Array<{ account: number; feature: number }> }
  | { kind: 'reserve'; account: number; feature: number; ttlSeconds: number | null }
  | { kind: 'check'; account: number; feature: number }
  | { kind: 'release'; hold: { pick: number; open: boolean } | null }
  | { kind: 'price'; feature: number; cost: number }
  | { kind: 'topup'; account: number; tokens: number; amountCents: number; expiresInDays: number | null }
  | { kind: 'refund'; payment: number; quarters: 0 | 1 | 2 | 4 }
  | { kind: 'replay'; usage: number; samePayload: boolean }
  | { kind: 'rollups' }
  /** The clock moves; with `jobs`, the `holds` and `renewals` jobs then run (else expired tokens and holds wait for them). */
  | { kind: 'advance'; seconds: number; jobs: boolean };

export interface Sequence {
  plans: PlanId[];
  ops: Op[];
}

const account = fc.nat({ max: ACCOUNTS - 1 });
const feature = fc.nat({ max: FEATURES_PER_LANE - 1 });
const pick = fc.nat({ max: 31 });
/** A value, or null one time in `freq`. */
const maybe = <T>(a: fc.Arbitrary<T>, freq: number): fc.Arbitrary<T | null> => fc.option(a, { freq, nil: null });
const mostly = fc.constantFrom(true, true, true, false);

/** One step. With `clock`, the clock moves too (`advance`), and grants, packs and holds expire within its reach. */
export function opArbitrary(opts: { clock: boolean }): fc.Arbitrary<Op> {
  const grantExpiry = opts.clock
    ? maybe(fc.integer({ min: 3600, max: 45 * 86_400 }), 2)
    : maybe(fc.integer({ min: 60, max: 90 * 86_400 }), 2);
  const ops: Array<fc.WeightedArbitrary<Op>> = [
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('grant' as const), account, tokens: fc.integer({ min: 1, max: 40 }), expiresInSeconds: grantExpiry }) },
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('use' as const), account, feature, hold: maybe(fc.record({ pick, open: mostly, itsFeature: mostly }), 2) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('batch' as const), uses: fc.array(fc.record({ account, feature }), { minLength: 2, maxLength: 5 }) }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('reserve' as const),
        account,
        feature,
        ttlSeconds: opts.clock ? maybe(fc.integer({ min: 30, max: 7200 }), 3) : fc.constant(null),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('check' as const), account, feature }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), hold: maybe(fc.record({ pick, open: mostly }), 8) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('price' as const), feature, cost: fc.integer({ min: 0, max: 20 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('topup' as const),
        account,
        tokens: fc.integer({ min: 1, max: 60 }),
        amountCents: fc.integer({ min: 50, max: 5000 }),
        expiresInDays: opts.clock ? maybe(fc.integer({ min: 1, max: 20 }), 4) : maybe(fc.integer({ min: 1, max: 40 }), 2),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('refund' as const), payment: pick, quarters: fc.constantFrom(0 as const, 1 as const, 2 as const, 4 as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), usage: pick, samePayload: fc.boolean() }) },
  ];
  if (opts.clock) {
    const seconds = fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 900 }) }, // holds expire
      { weight: 1, arbitrary: fc.integer({ min: 3600, max: 3 * 86_400 }) }, // grants and packs expire
      { weight: 1, arbitrary: fc.integer({ min: 3 * 86_400, max: 12 * 86_400 }) }, // ... within the period
      { weight: 1, arbitrary: fc.integer({ min: 12 * 86_400, max: 40 * 86_400 }) }, // periods end and renew
    );
    ops.push({ weight: 8, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds, jobs: fc.boolean() }) });
  }
  ops.push({ weight: 1, arbitrary: fc.constant({ kind: 'rollups' as const }) });
  return fc.oneof(...ops);
}

export function sequenceArbitrary(opts: { clock: boolean; minOps: number; maxOps: number }): fc.Arbitrary<Sequence> {
  return fc.record({
    plans: fc.array(fc.constantFrom<PlanId>('free_starter', 'free_starter', 'monthly_pro'), { minLength: ACCOUNTS, maxLength: ACCOUNTS }),
    ops: fc.array(opArbitrary(opts), { minLength: opts.minOps, maxLength: opts.maxOps }),
  });
}

/**
 * A property's seed and replay path from the environment (PROPERTY_SEED, PROPERTY_PATH: what fast-check
 * prints on failure). The seed is logged before the property runs, so any run can be replayed.
 */
export function propertyParameters<T>(name: string, numRuns: number): fc.Parameters<T> {
  const seed = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  const path = process.env.PROPERTY_PATH;
  console.log(`[property] ${name}: seed ${seed}, ${numRuns} runs${path ? `, path ${path}` : ''} (replay with PROPERTY_SEED=${seed})`);
  return { seed, numRuns, ...(path ? { path } : {}) };
}

interface SentUsage {
  body: { userId: string; feature: string; idempotencyKey: string; reservationId?: string };
  expected: UsageOutcome;
}

/** What the sequences of a property exercised, printed at its end: a property that covers nothing passes too. */
export class Tally {
  private readonly counts = new Map<string, number>();
  note(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }
  toString(): string {
    return [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ');
  }
}

/** Where a step went wrong, with what the engine and the model said. */
class Mismatch extends Error {}

function same(step: string, what: string, engine: unknown, model: unknown): void {
  const a = JSON.stringify(engine);
  const b = JSON.stringify(model);
  if (a !== b) throw new Mismatch(`${step}: ${what}\n  engine: ${a}\n  model:  ${b}`);
}

const outcomeView = (o: { status: string; cost: number; balanceAfter?: number; reason?: string }) => ({
  status: o.status,
  cost: o.cost,
  balanceAfter: o.balanceAfter,
  reason: o.reason ?? null,
});

/**
 * Drives one sequence through the real HTTP API, queues and database, and the model beside it: the
 * answers of every step, then every account of the sequence, must agree; at the end the reconcile job
 * must find nothing wrong with them.
 */
export class SequenceRun {
  readonly userIds: string[] = [];
  private readonly holdIds: string[] = [];
  private readonly paymentIntents: string[] = [];
  private readonly usages: SentUsage[] = [];
  private keys = 0;
  private model!: Model;

  constructor(
    private readonly engine: TestEngine,
    private readonly prices: Map<string, number>,
    private readonly name: string,
    private readonly features: readonly string[],
    private readonly tally: Tally,
  ) {}

  async run(seq: Sequence): Promise<void> {
    const now = new Date((await this.engine.admin('GET', '/admin/api/clock')).body.now).getTime();
    this.model = new Model(now, this.prices, (what) => this.tally.note(what));
    this.userIds.push(...seq.plans.map((_, i) => `${this.name}-${i}`));
    const opened = await Promise.all(seq.plans.map((plan, i) => this.engine.api('POST', '/v1/accounts', { userId: this.userIds[i], plan })));
    same('open', 'POST /v1/accounts', opened.map((r) => r.status), seq.plans.map(() => 201));
    for (const [i, plan] of seq.plans.entries()) this.model.openAccount(this.userIds[i]!, plan);
    await this.compareAccounts('opened', this.userIds);
    for (const [i, op] of seq.ops.entries()) {
      const step = `${this.name} step ${i} ${JSON.stringify(op)}`;
      await this.compareAccounts(step, await this.apply(step, op));
    }
    await this.compareAccounts(`${this.name} end`, this.userIds);
  }

  /** The accounts a step touched must read as the model says (all of them at the start and the end). */
  private async compareAccounts(step: string, userIds: string[]): Promise<void> {
    const views = await Promise.all(userIds.map((userId) => this.engine.api('GET', `/v1/accounts/${userId}`)));
    for (const [i, userId] of userIds.entries()) {
      const { balance, held, usedThisPeriod, allocatedThisPeriod, period } = views[i]!.body;
      same(step, `account ${userId}`, { balance, held, usedThisPeriod, allocatedThisPeriod, periodEnd: period.end }, this.model.view(userId));
    }
  }

  /** Applies one step to the engine and the model; returns the accounts it may have changed. */
  private async apply(step: string, op: Op): Promise<string[]> {
    const { engine, model } = this;
    switch (op.kind) {
      case 'grant': {
        const userId = this.userIds[op.account]!;
        const expiresAt = op.expiresInSeconds === null ? null : model.now + op.expiresInSeconds * 1000;
        const r = await engine.admin('POST', `/admin/api/accounts/${userId}/grants`, {
          tokens: op.tokens,
          reason: 'property test',
          ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
        });
        const balance = model.adminGrant(userId, op.tokens, expiresAt);
        same(step, 'grant answer', [r.status, r.body.balance], [201, balance]);
        return [userId];
      }
      case 'use': {
        const userId = this.userIds[op.account]!;
        const hold = op.hold && this.pickHold(op.hold.pick, op.hold.open ? userId : undefined);
        const featureKey = hold && op.hold?.itsFeature ? hold.feature : this.features[op.feature]!;
        return this.sendUses(step, [{ userId, feature: featureKey, ...(hold ? { reservationId: hold.id } : {}) }]);
      }
      case 'batch':
        return this.sendUses(
          step,
          op.uses.map((u) => ({ userId: this.userIds[u.account]!, feature: this.features[u.feature]! })),
        );
      case 'reserve': {
        const userId = this.userIds[op.account]!;
        const featureKey = this.features[op.feature]!;
        const r = await engine.api('POST', '/v1/check', { userId, feature: featureKey, reserve: true, ...(op.ttlSeconds ? { ttlSeconds: op.ttlSeconds } : {}) });
        const expected = model.reserve(userId, featureKey, () => r.body.reservationId, op.ttlSeconds ?? 300);
        same(step, 'reserve answer', [r.status, r.body.allowed, r.body.cost, r.body.balance, r.body.reason ?? null], [200, expected.allowed, expected.cost, expected.balance, expected.allowed ? null : 'insufficient_tokens']);
        this.tally.note(expected.allowed ? 'hold placed' : 'hold refused');
        if (expected.hold) {
          same(step, 'hold expiry', r.body.expiresAt, new Date(expected.hold.expiresAt).toISOString());
          this.holdIds.push(expected.hold.id);
        }
        return [userId];
      }
      case 'check': {
        const userId = this.userIds[op.account]!;
        const featureKey = this.features[op.feature]!;
        const r = await engine.api('POST', '/v1/check', { userId, feature: featureKey });
        const expected = model.check(userId, featureKey);
        same(step, 'check answer', [r.body.allowed, r.body.cost, r.body.balance], [expected.allowed, expected.cost, expected.balance]);
        return [userId];
      }
      case 'release': {
        const hold = op.hold ? this.pickHold(op.hold.pick, op.hold.open ? null : undefined) : undefined;
        const id = hold?.id ?? randomUUID();
        const r = await engine.api('DELETE', `/v1/reservations/${id}`);
        const status = model.release(id);
        same(step, 'release answer', r.status, status);
        this.tally.note(`release answered ${status}`);
        return hold ? [hold.userId] : [];
      }
      case 'price': {
        const key = this.features[op.feature]!;
        const r = await engine.admin('PUT', `/admin/api/features/${key}`, { cost: op.cost });
        same(step, 'price answer', r.status, 200);
        this.prices.set(key, op.cost);
        return [];
      }
      case 'topup': {
        const userId = this.userIds[op.account]!;
        const paymentIntent = stripeId('pi');
        const outcome = await deliverAndApply(
          engine,
          tokenCheckout({ userId, tokens: op.tokens, amount: op.amountCents, paymentIntent, ...(op.expiresInDays ? { expiresInDays: op.expiresInDays } : {}) }),
        );
        same(step, 'top-up outcome', [outcome.status, outcome.code], ['applied', 'tokens_added']);
        model.topUp(userId, paymentIntent, op.tokens, op.amountCents, op.expiresInDays ? model.now + op.expiresInDays * 86_400_000 : null);
        this.paymentIntents.push(paymentIntent);
        return [userId];
      }
      case 'refund': {
        if (this.paymentIntents.length === 0) return [];
        const payment = model.payments.get(this.paymentIntents[op.payment % this.paymentIntents.length]!)!;
        const refunded = payment.refundedCents + Math.ceil(((payment.amountCents - payment.refundedCents) * op.quarters) / 4);
        const outcome = await deliverAndApply(engine, chargeRefunded({ paymentIntent: payment.paymentIntent, amount: payment.amountCents, refunded }));
        const expected = model.refund(payment.paymentIntent, refunded);
        const took = /took back (\d+) of/.exec(outcome.message ?? '')?.[1];
        same(step, 'refund outcome', [outcome.code, expected.code === 'refund_reversed' ? Number(took) : null], [expected.code, expected.code === 'refund_reversed' ? expected.taken : null]);
        return [payment.userId];
      }
      case 'replay': {
        if (this.usages.length === 0) return [];
        const sent = this.usages[op.usage % this.usages.length]!;
        const other = this.features.find((f) => f !== sent.body.feature)!;
        const body = op.samePayload ? sent.body : { ...sent.body, feature: other };
        const r = await engine.api('POST', '/v1/usage', body);
        this.tally.note(op.samePayload ? 'replay' : 'conflicting replay');
        same(step, 'replay answer', [r.status, r.body.error?.code ?? null], op.samePayload ? [202, null] : [409, 'idempotency_conflict']);
        same(step, 'replayed event', outcomeView(await settled(engine, body.idempotencyKey)), outcomeView(sent.expected));
        return [body.userId];
      }
      case 'rollups':
        await runJob(engine, 'rollups');
        return [];
      case 'advance': {
        model.tick((await engine.advance(op.seconds)).getTime());
        if (!op.jobs) return this.userIds;
        await runJob(engine, 'holds');
        await runJob(engine, 'renewals');
        model.runJobs();
        // Renewals are queued per account: wait until this sequence's accounts are in their new periods.
        for (const userId of this.userIds) {
          const end = model.view(userId).periodEnd;
          await waitFor(async () => (await engine.api('GET', `/v1/accounts/${userId}`)).body.period.end === end, `${userId} renewed to ${end}`);
        }
        return this.userIds;
      }
    }
  }

  /**
   * One of the sequence's holds: among the open ones of `openOf` (an account, or null for any account)
   * when there are some, else among all; undefined when none was placed.
   */
  private pickHold(pick: number, openOf: string | null | undefined) {
    const all = this.holdIds.map((id) => this.model.holds.get(id)!);
    const open = openOf === undefined ? [] : all.filter((h) => h.status === 'open' && (openOf === null || h.userId === openOf));
    const from = open.length > 0 ? open : all;
    return from.length === 0 ? undefined : from[pick % from.length];
  }

  /** Reports uses (one request, or one batch) and waits for each to settle; the model applies them in order. */
  private async sendUses(step: string, uses: Array<{ userId: string; feature: string; reservationId?: string }>): Promise<string[]> {
    const bodies = uses.map((u) => ({ ...u, idempotencyKey: `${u.userId}-u${++this.keys}` }));
    const r = bodies.length === 1 ? await this.engine.api('POST', '/v1/usage', bodies[0]) : await this.engine.api('POST', '/v1/usage/batch', { events: bodies });
    same(step, 'usage accepted', r.status, 202);
    const outcomes = await Promise.all(bodies.map((b) => settled(this.engine, b.idempotencyKey)));
    for (const [i, body] of bodies.entries()) {
      const expected = this.model.use(body.userId, body.feature, body.reservationId);
      this.usages.push({ body, expected });
      same(step, `usage ${body.idempotencyKey}`, outcomeView(outcomes[i]!), outcomeView(expected));
      this.tally.note(expected.status === 'rejected' ? `use rejected: ${expected.reason}` : expected.viaHold ? 'use spent a hold' : 'use applied');
    }
    return [...new Set(uses.map((u) => u.userId))];
  }
}

/**
 * Runs sequences side by side, one lane each (their own accounts and features), then the reconcile
 * job once: it must find nothing wrong with any of their accounts, nor with any rollup day.
 */
export async function runSequences(engine: TestEngine, prices: Map<string, number>, tally: Tally, name: string, seqs: Sequence[]): Promise<void> {
  if (seqs.length > FEATURE_LANES.length) throw new Error(`at most ${FEATURE_LANES.length} lanes`);
  const runs = seqs.map((_, lane) => new SequenceRun(engine, prices, seqs.length > 1 ? `${name}l${lane}` : name, FEATURE_LANES[lane]!, tally));
  // Let every lane finish before failing, so no step of this run overlaps the next (shrinking) run.
  const results = await Promise.allSettled(runs.map((run, lane) => run.run(seqs[lane]!)));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  const result = (await runJob(engine, 'reconcile')) as { violations: Array<{ userId: string | null }> };
  const ours = new Set(runs.flatMap((r) => r.userIds));
  same(name, 'reconcile violations', result.violations.filter((v) => v.userId === null || ours.has(v.userId)), []);
}
