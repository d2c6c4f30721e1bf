import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ReplyError } from 'ioredis';
import pg from 'pg';
import type { z } from 'zod';
import { DependencyUnavailable, EngineError, type ErrorCode } from '../errors.js';
import { isLockTimeout, isPostgresOutage } from '../db/database-errors.js';
import { describeIssues } from '../validation.js';

// Every code has its status: a new ErrorCode without one does not compile.
const statusOf: Record<ErrorCode, number> = {
  validation_failed: 400,
  unknown_feature: 400,
  unknown_plan: 400,
  invalid_events: 400,
  clock_backwards: 400,
  invalid_signature: 400,
  as_of_in_future: 400,
  occurred_at_out_of_range: 400,
  balance_limit_exceeded: 400,
  unauthorized: 401,
  cross_site_request: 403,
  request_timeout: 408,
  account_not_found: 404,
  reservation_not_found: 404,
  usage_not_found: 404,
  not_found: 404,
  unknown_job: 404,
  test_clock_disabled: 404,
  notification_not_found: 404,
  idempotency_conflict: 409,
  reservation_closed: 409,
  event_not_failed: 409,
  stripe_price_taken: 409,
  payload_too_large: 413,
  notification_not_failed: 409,
  feature_exists: 409,
  too_many_holds: 409,
  unsupported_media_type: 415,
  backlogged: 429,
  dependency_unavailable: 503,
  account_busy: 503,
  webhook_not_configured: 503,
  console_not_built: 503,
  ledger_invariant_violated: 500,
  internal_error: 500,
};

/** The status an error code answers with. */
export function statusOfCode(code: ErrorCode): number {
  return statusOf[code];
}

/** Parses untrusted input; a failure is a 400 naming each field and what is wrong with it. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what = 'request'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new EngineError('validation_failed', `invalid ${what}: ${describeIssues(result.error).map((i) => `${i.path}: ${i.message}`).join('; ')}`, describeIssues(result.error));
  }
  return result.data;
}

// Redis error replies start with their code: these mean "reachable but refusing now" (full at maxmemory
// under noeviction, loading its data, a read-only replica, a cluster without a quorum, or a slot that
// moved under the request: ioredis follows MOVED and ASK, but it retries an automatic pipeline only when
// all of its commands got the same redirection, and mid-failover they may not).
const redisRefusals = new Set(['OOM', 'LOADING', 'READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK']);

export interface DependencyState {
  /**
   * Whether the process's Redis connection is up (and, on a cluster, no node failed in the last seconds):
   * ioredis fails commands on a lost connection, or to a master that just died, with plain errors.
   */
  redisReady(): boolean;
}

/**
 * Errors of a dependency that is down or refusing become a 503 naming it: by class and SQLSTATE for
 * PostgreSQL, by reply code, error class and the connection's state for Redis, never by message text.
 */
export function asDependencyError(error: unknown, state?: DependencyState): DependencyUnavailable | undefined {
  if (error instanceof EngineError) return undefined;
  if (isPostgresOutage(error)) return new DependencyUnavailable('postgres', error);
  if (error instanceof (ReplyError as new () => Error)) {
    return redisRefusals.has(String((error as Error).message).split(' ')[0]!) ? new DependencyUnavailable('redis', error) : undefined;
  }
  const e = error as { name?: string; errors?: unknown[] } | null;
  if (e?.name === 'MaxRetriesPerRequestError' || e?.name === 'ClusterAllFailedError') return new DependencyUnavailable('redis', error);
  if (Array.isArray(e?.errors) && e.errors.length > 0) return asDependencyError(e.errors[0], state);
  if (state && !state.redisReady() && error instanceof Error && !(error instanceof pg.DatabaseError)) {
    return new DependencyUnavailable('redis', error);
  }
  return undefined;
}

/** A transaction that waited lock_timeout for an account another transaction holds: busy, try again. */
function asBusyError(error: unknown): EngineError | undefined {
  if (!isLockTimeout(error)) return undefined;
  return new EngineError('account_busy', 'the account is busy with another request; retry shortly', undefined, 1);
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Fastify's own refusals (router, body parsing, content type) in the contract's terms. */
function frameworkRefusal(error: FastifyError): EngineError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new EngineError('payload_too_large', 'the body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new EngineError('unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_BAD_URL':
      return new EngineError('validation_failed', 'the path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new EngineError('validation_failed', 'a path segment is longer than any value this API accepts');
    case 'FST_ERR_NOT_FOUND':
      return new EngineError('not_found', error.message);
    default:
      return new EngineError(error.statusCode === 404 ? 'not_found' : 'validation_failed', error.message);
  }
}

function send(reply: FastifyReply, known: EngineError): FastifyReply {
  const status = statusOf[known.code];
  if (known.retryAfterSeconds !== undefined) reply.header('retry-after', String(known.retryAfterSeconds));
  return reply.status(status).send(errorBody(known.code, known.message, known.details));
}

/** Fastify's `frameworkErrors` option: a bad URL or an over-long path segment, before any route runs. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void send(reply, frameworkRefusal(error));
}

/** One place maps errors to the contract's shape; nothing else (no stack, no SQL) leaves the process. */
export function installErrorHandling(app: FastifyInstance, state?: DependencyState): void {
  app.setErrorHandler((error: FastifyError | EngineError, request, reply) => {
    const known = error instanceof EngineError ? error : (asBusyError(error) ?? asDependencyError(error, state));
    // A broken ledger invariant is the engine's bug: logged loudly, answered like any other, its SQL kept in.
    if (known?.code === 'ledger_invariant_violated') {
      request.log.error({ err: error }, known.message);
      return reply.status(500).send(errorBody('internal_error', 'internal error; it has been logged'));
    }
    if (known) {
      if (statusOf[known.code] >= 500) request.log.warn({ err: error }, known.message);
      return send(reply, known);
    }
    const fe = error as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return send(reply, frameworkRefusal(fe));
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('internal_error', 'internal error; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
