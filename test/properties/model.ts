/**
 * The reference model the property tests hold the engine to: what the README promises about balances,
 * holds, grants, expiry, renewals, refunds and prices, written as plainly as possible and sharing no
 * code with the engine. Times are milliseconds; the model's clock is the engine's test clock.
 */

export const PLANS = { free_starter: 10, monthly_pro: 100 } as const;
export type PlanId = keyof typeof PLANS;

export interface ModelGrant {
  /** Creation order: among grants expiring together, the older is spent first. */
  seq: number;
  source: 'plan' | 'adjustment' | 'purchase';
  tokens: number;
  remaining: number;
  expiresAt: number | null;
}

export interface ModelHold {
  id: string;
  userId: string;
  feature: string;
  cost: number;
  allocations: Array<{ grant: ModelGrant; tokens: number }>;
  expiresAt: number;
  status: 'open' | 'used' | 'released' | 'expired';
}

export interface ModelPayment {
  paymentIntent: string;
  userId: string;
  tokens: number;
  amountCents: number;
  refundedCents: number;
  tokensReversed: number;
  grant: ModelGrant;
}

export interface ModelAccount {
  userId: string;
  plan: PlanId;
  anchor: number;
  periodIndex: number;
  periodEnd: number;
  grants: ModelGrant[];
  held: number;
  used: number;
  allocated: number;
}

export type UsageOutcome =
  | { status: 'applied'; cost: number; balanceAfter: number; viaHold?: true }
  | { status: 'rejected'; cost: number; balanceAfter: number; reason: 'insufficient_tokens' | 'reservation_mismatch' };

/** Calendar months from an anchor in UTC, a day past the month's end clamped to its last day. */
export function addMonths(anchor: number, months: number): number {
  const a = new Date(anchor);
  const first = new Date(Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + months, 1, a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds(), a.getUTCMilliseconds()));
  const daysInMonth = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(a.getUTCDate(), daysInMonth));
  return first.getTime();
}

export class Model {
  readonly accounts = new Map<string, ModelAccount>();
  readonly holds = new Map<string, ModelHold>();
  readonly payments = new Map<string, ModelPayment>();
  private seq = 0;

  constructor(
    public now: number,
    /** Feature costs in force now: global, like the engine's catalog. */
    readonly prices: Map<string, number>,
    /** Told what happened (`hold expired`, `renewal`...), so a run can show what it covered. */
    private readonly note: (what: string) => void = () => {},
  ) {}

  account(userId: string): ModelAccount {
    const a = this.accounts.get(userId);
    if (!a) throw new Error(`model: no account ${userId}`);
    return a;
  }

  private expired(g: ModelGrant, at = this.now): boolean {
    return g.expiresAt !== null && g.expiresAt <= at;
  }

  /** What can be spent now: tokens of grants not past their expiry. */
  balance(userId: string): number {
    return this.account(userId).grants.reduce((sum, g) => (this.expired(g) ? sum : sum + g.remaining), 0);
  }

  private addGrant(a: ModelAccount, source: ModelGrant['source'], tokens: number, expiresAt: number | null): ModelGrant {
    const grant: ModelGrant = { seq: this.seq++, source, tokens, remaining: tokens, expiresAt };
    a.grants.push(grant);
    a.allocated += tokens;
    return grant;
  }

  /** Expired tokens leave the books (the engine does it whenever it touches the account, and in its sweep). */
  private expireDue(a: ModelAccount, at = this.now): void {
    for (const g of a.grants) {
      if (this.expired(g, at) && g.remaining > 0) {
        this.note(`${g.source} tokens expired`);
        g.remaining = 0;
      }
    }
  }

  /** Soonest-expiring first, never-expiring last, oldest first among equals. */
  private take(a: ModelAccount, cost: number): Array<{ grant: ModelGrant; tokens: number }> | undefined {
    this.expireDue(a);
    if (cost > this.balance(a.userId)) return undefined;
    const order = [...a.grants].sort((x, y) => (x.expiresAt ?? Infinity) - (y.expiresAt ?? Infinity) || x.seq - y.seq);
    const taken: Array<{ grant: ModelGrant; tokens: number }> = [];
    let left = cost;
    for (const g of order) {
      if (left === 0) break;
      const n = Math.min(g.remaining, left);
      if (n === 0) continue;
      g.remaining -= n;
      left -= n;
      taken.push({ grant: g, tokens: n });
    }
    return taken;
  }

  openAccount(userId: string, plan: PlanId): void {
    const a: ModelAccount = { userId, plan, anchor: this.now, periodIndex: 0, periodEnd: addMonths(this.now, 1), grants: [], held: 0, used: 0, allocated: 0 };
    this.accounts.set(userId, a);
    this.addGrant(a, 'plan', PLANS[plan], a.periodEnd);
  }

  adminGrant(userId: string, tokens: number, expiresAt: number | null): number {
    const a = this.account(userId);
    this.expireDue(a);
    this.addGrant(a, 'adjustment', tokens, expiresAt);
    return this.balance(userId);
  }

  topUp(userId: string, paymentIntent: string, tokens: number, amountCents: number, expiresAt: number | null): void {
    const a = this.account(userId);
    this.renew(a);
    const grant = this.addGrant(a, 'purchase', tokens, expiresAt);
    this.payments.set(paymentIntent, { paymentIntent, userId, tokens, amountCents, refundedCents: 0, tokensReversed: 0, grant });
  }

  /**
   * charge.refunded with Stripe's cumulative amount_refunded: the tokens the total refunded calls for,
   * ceil(tokens × refunded / paid), less what earlier refunds called for, from what is left of the grant.
   */
  refund(paymentIntent: string, amountRefunded: number): { code: 'refund_reversed' | 'already_refunded'; taken: number } {
    const p = this.payments.get(paymentIntent)!;
    const a = this.account(p.userId);
    this.renew(a);
    const newly = amountRefunded - p.refundedCents;
    if (newly <= 0) return { code: 'already_refunded', taken: 0 };
    const calledFor = (cents: number) => Math.min(p.tokens, Math.ceil((p.tokens * Math.min(cents, p.amountCents)) / p.amountCents));
    const requested = calledFor(amountRefunded) - calledFor(p.refundedCents);
    p.refundedCents = amountRefunded;
    if (requested === 0) return { code: 'already_refunded', taken: 0 };
    // Tokens past their expiry are gone, not taken back, whether or not the sweep has removed them yet.
    this.expireDue(a);
    const taken = Math.min(requested, p.grant.remaining);
    this.note(taken === requested ? 'refund took all it asked' : 'refund found tokens already spent');
    if (taken > 0) {
      p.grant.remaining -= taken;
      a.allocated = Math.max(a.used, a.allocated - taken);
    }
    p.tokensReversed += taken;
    return { code: 'refund_reversed', taken };
  }

  check(userId: string, feature: string): { allowed: boolean; cost: number; balance: number } {
    const cost = this.prices.get(feature)!;
    const balance = this.balance(userId);
    return { allowed: cost <= balance, cost, balance };
  }

  /** A check with reserve: the hold, or undefined when the balance is short or there is nothing to hold (a free feature). */
  reserve(userId: string, feature: string, id: () => string, ttlSeconds: number): { allowed: boolean; cost: number; balance: number; hold?: ModelHold } {
    const a = this.account(userId);
    const cost = this.prices.get(feature)!;
    if (cost === 0) return { allowed: true, cost, balance: this.balance(userId) };
    const allocations = this.take(a, cost);
    if (!allocations) return { allowed: false, cost, balance: this.balance(userId) };
    a.held += cost;
    const hold: ModelHold = { id: id(), userId, feature, cost, allocations, expiresAt: this.now + ttlSeconds * 1000, status: 'open' };
    this.holds.set(hold.id, hold);
    return { allowed: true, cost, balance: this.balance(userId), hold };
  }

  /** Tokens back on the grants they came from; an expired grant loses them again at once. */
  private giveBack(hold: ModelHold, status: 'released' | 'expired'): void {
    const a = this.account(hold.userId);
    for (const { grant, tokens } of hold.allocations) grant.remaining += tokens;
    a.held -= hold.cost;
    hold.status = status;
    this.note(`hold ${status}`);
    this.expireDue(a);
  }

  release(holdId: string): 200 | 404 | 409 {
    const hold = this.holds.get(holdId);
    if (!hold) return 404;
    if (hold.status === 'released') return 200;
    if (hold.status !== 'open') return 409;
    this.giveBack(hold, 'released');
    return 200;
  }

  use(userId: string, feature: string, reservationId?: string): UsageOutcome {
    const a = this.account(userId);
    this.expireDue(a);
    const hold = reservationId ? this.holds.get(reservationId) : undefined;
    if (hold && hold.userId === userId && hold.status === 'open') {
      if (hold.feature !== feature) return { status: 'rejected', cost: hold.cost, balanceAfter: this.balance(userId), reason: 'reservation_mismatch' };
      a.held -= hold.cost;
      a.used += hold.cost;
      hold.status = 'used';
      return { status: 'applied', cost: hold.cost, balanceAfter: this.balance(userId), viaHold: true };
    }
    const cost = this.prices.get(feature)!;
    if (!this.take(a, cost)) return { status: 'rejected', cost, balanceAfter: this.balance(userId), reason: 'insufficient_tokens' };
    a.used += cost;
    return { status: 'applied', cost, balanceAfter: this.balance(userId) };
  }

  /**
   * The clock moves. A hold past its ttl gives its tokens back from that instant, whether or not the
   * `holds` job has written it yet; everything else waits until a job runs or an operation touches an
   * account.
   */
  tick(to: number): void {
    this.now = to;
    for (const hold of [...this.holds.values()].sort((x, y) => x.expiresAt - y.expiresAt)) {
      if (hold.status === 'open' && hold.expiresAt <= this.now) this.giveBack(hold, 'expired');
    }
  }

  /** The `holds` job (expired grants leave; expired holds are already given back), then the `renewals` job, as of the model's clock. */
  runJobs(): void {
    for (const a of this.accounts.values()) {
      this.expireDue(a);
      this.renew(a);
    }
  }

  /**
   * Each ended period, in order: the tokens expiring by its end leave, and the next period is allocated
   * what the account holds when the renewal runs (expired tokens not yet swept included: the sweep is
   * another job) plus the plan's monthly tokens. Renewals and payments do this first.
   */
  private renew(a: ModelAccount): void {
    while (a.periodEnd <= this.now) {
      this.expireDue(a, a.periodEnd);
      a.periodIndex += 1;
      this.note('renewal');
      a.periodEnd = addMonths(a.anchor, a.periodIndex + 1);
      a.used = 0;
      a.allocated = a.grants.reduce((sum, g) => sum + g.remaining, 0) + a.held;
      this.addGrant(a, 'plan', PLANS[a.plan], a.periodEnd);
    }
  }

  /** What GET /v1/accounts/{userId} should say. */
  view(userId: string) {
    const a = this.account(userId);
    return { balance: this.balance(userId), held: a.held, usedThisPeriod: a.used, allocatedThisPeriod: a.allocated, periodEnd: new Date(a.periodEnd).toISOString() };
  }
}
