import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi.js';
import { errorOf, TokenEngineError } from './errors.js';
import { retryingFetch, type RetryOptions } from './retry.js';

type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer B } } };
}
  ? B
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Account = components['schemas']['Account'];
export type Dashboard = components['schemas']['Dashboard'];
export type Feature = components['schemas']['Feature'];
export type Plan = components['schemas']['Plan'];
export type Hold = components['schemas']['Hold'];
export type LedgerEntry = components['schemas']['LedgerEntry'];
export type UsageEvent = components['schemas']['UsageEvent'];
export type UsageStatus = components['schemas']['UsageStatus'];
export type CheckResult = Json<'/v1/check', 'post', 200>;
export type Released = Json<'/v1/reservations/{reservationId}', 'delete', 200>;
export type UsageAccepted = Json<'/v1/usage', 'post', 202>;
export type UsageBatchAccepted = Json<'/v1/usage/batch', 'post', 202>;
export type LedgerPage = Json<'/v1/accounts/{userId}/ledger', 'get', 200>;
export type PlanChange = Json<'/v1/accounts/{userId}/plan', 'put', 200>;
export type NewAccount = Body<'/v1/accounts', 'post'>;

export interface TokenEngineOptions {
  /** Where the engine answers: `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** One of the engine's TOKENS_API_KEYS (or TOKENS_ADMIN_KEYS, for `api`'s admin routes). */
  apiKey: string;
  /** Each attempt's time limit (default 10 s). */
  timeoutMs?: number;
  /** Attempts after the first on 429 and 503 (default 3); 0 turns retries off. */
  retries?: number;
  /** The first backoff when the engine names no Retry-After (default 250 ms, doubled each attempt). */
  retryBaseDelayMs?: number;
  /** The longest wait between attempts (default 10 s). */
  retryMaxDelayMs?: number;
  /** Another fetch (a proxy agent, a test's). */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** How long to wait for the event to be applied or rejected (default 30 s). */
  timeoutMs?: number;
  /** Between two reads (default 100 ms). */
  intervalMs?: number;
}

/** The settled states of a usage event. */
export type SettledUsage = UsageStatus & { status: 'applied' | 'rejected' };

type Result<T> = { data?: T; error?: unknown; response: Response };

/**
 * The engine's service API, typed from its OpenAPI document. Each helper answers the route's body or
 * throws a TokenEngineError with the contract's code, status and message; a busy engine (429, 503) is
 * asked again, as its Retry-After says. `api` is the typed openapi-fetch client for every other route.
 */
export class TokenEngine {
  readonly api: Client<paths>;

  constructor(options: TokenEngineOptions) {
    const retry: RetryOptions = {
      retries: options.retries ?? 3,
      baseDelayMs: options.retryBaseDelayMs ?? 250,
      maxDelayMs: options.retryMaxDelayMs ?? 10_000,
      timeoutMs: options.timeoutMs ?? 10_000,
    };
    this.api = createClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: { authorization: `Bearer ${options.apiKey}` },
      fetch: retryingFetch(options.fetch ?? globalThis.fetch, retry),
    });
  }

  /** May this user use this feature now? `allowed: false` comes with its `reason` (it is not an error). */
  async check(userId: string, feature: string, options: { reserve?: boolean; ttlSeconds?: number } = {}): Promise<CheckResult> {
    return unwrap(await this.api.POST('/v1/check', { body: { userId, feature, ...options } }));
  }

  /**
   * Holds the feature's cost when allowed: no other use can spend those tokens until a usage event names
   * the `reservationId`, the hold is released, or it expires (`ttlSeconds`, the engine's default 300).
   * A free feature is allowed with no reservationId: nothing is held.
   */
  async reserve(userId: string, feature: string, options: { ttlSeconds?: number } = {}): Promise<CheckResult> {
    return this.check(userId, feature, { ...options, reserve: true });
  }

  /** Gives a hold's tokens back; releasing a released hold answers the same. */
  async release(reservationId: string): Promise<Released> {
    return unwrap(await this.api.DELETE('/v1/reservations/{reservationId}', { params: { path: { reservationId } } }));
  }

  /**
   * Reports one use. The idempotencyKey names the use: send it again (after a timeout, a crash) with the
   * same payload and it is applied once; choose it from what the use is (`resume-42-analysis-7`), never
   * a fresh random value per attempt. Answers once queued: `waitForUsage` tells what became of it.
   */
  async recordUsage(event: UsageEvent): Promise<UsageAccepted> {
    requireKey(event);
    return unwrap(await this.api.POST('/v1/usage', { body: event }));
  }

  /** Up to 1000 uses at once, each with its idempotencyKey: all are accepted or none. */
  async recordUsageBatch(events: UsageEvent[]): Promise<UsageBatchAccepted> {
    events.forEach(requireKey);
    return unwrap(await this.api.POST('/v1/usage/batch', { body: { events } }));
  }

  /** What became of a usage event: `queued`, `applied` (with `balanceAfter`) or `rejected` (with `reason`). */
  async usageStatus(idempotencyKey: string): Promise<UsageStatus> {
    return unwrap(await this.api.GET('/v1/usage/{idempotencyKey}', { params: { path: { idempotencyKey } } }));
  }

  /** Waits until the usage event is applied or rejected, and answers its status. */
  async waitForUsage(idempotencyKey: string, options: WaitOptions = {}): Promise<SettledUsage> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const status = await this.usageStatus(idempotencyKey);
      if (status.status !== 'queued') return status as SettledUsage;
      if (Date.now() >= deadline) {
        throw new TokenEngineError('timeout', 0, `usage ${idempotencyKey} is still queued after ${options.timeoutMs ?? 30_000} ms`, status);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  }

  /** Opens an account (its first period allocated at once); an existing one is answered as it is. */
  async createAccount(userId: string, options: Omit<NewAccount, 'userId'> = {}): Promise<Account> {
    return unwrap(await this.api.POST('/v1/accounts', { body: { userId, ...options } }));
  }

  /** Plan, balance (spendable now), held tokens, period, use this period and the warning level crossed. */
  async account(userId: string): Promise<Account> {
    return unwrap(await this.api.GET('/v1/accounts/{userId}', { params: { path: { userId } } }));
  }

  /** The user's token dashboard: use this period, days until renewal, most used features, recommendations. */
  async dashboard(userId: string): Promise<Dashboard> {
    return unwrap(await this.api.GET('/v1/accounts/{userId}/dashboard', { params: { path: { userId } } }));
  }

  async holds(userId: string): Promise<Hold[]> {
    return unwrap(await this.api.GET('/v1/accounts/{userId}/holds', { params: { path: { userId } } })).holds;
  }

  async ledger(userId: string, page: { limit?: number; cursor?: string } = {}): Promise<LedgerPage> {
    return unwrap(await this.api.GET('/v1/accounts/{userId}/ledger', { params: { path: { userId }, query: page } }));
  }

  /** Moves the user to another plan: an upgrade now (prorated), a downgrade at renewal. */
  async changePlan(userId: string, plan: string): Promise<PlanChange> {
    return unwrap(await this.api.PUT('/v1/accounts/{userId}/plan', { params: { path: { userId } }, body: { plan } }));
  }

  async features(): Promise<Feature[]> {
    return unwrap(await this.api.GET('/v1/features')).features;
  }

  async plans(): Promise<Plan[]> {
    return unwrap(await this.api.GET('/v1/plans')).plans;
  }
}

function requireKey(event: UsageEvent): void {
  if (typeof event.idempotencyKey !== 'string' || event.idempotencyKey.length === 0) {
    throw new TokenEngineError('validation_failed', 400, 'idempotencyKey is required: it names the use, so a retry is applied once');
  }
}

/** The body of a success, or the contract's error as a TokenEngineError. */
export function unwrap<T>(result: Result<T>): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  throw errorOf(result.response, result.error);
}
