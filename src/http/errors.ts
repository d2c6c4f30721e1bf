import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { DependencyUnavailable, EngineError, type ErrorCode } from '../errors.js';
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
  dependency_unavailable: 503,
  webhook_not_configured: 503,
  console_not_built: 503,
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

const pgConnectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

/** Errors thrown by a client library while its server is unreachable become a 503 naming the server. */
export function asDependencyError(error: unknown): DependencyUnavailable | undefined {
  const e = error as { code?: string; message?: string; name?: string; errors?: unknown[] };
  const message = e.message ?? '';
  if (
    e.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|enableOfflineQueue|Reached the max retries per request/i.test(message) ||
    // Reachable but refusing: full at maxmemory under noeviction, loading its data, a read-only replica.
    (e.name === 'ReplyError' && /^(OOM|LOADING|READONLY|MASTERDOWN) /.test(message))
  ) {
    return new DependencyUnavailable('redis', error);
  }
  // "not queryable": a transaction's rollback on a client whose server went away (it hides the first error).
  if ((e.code && pgConnectionCodes.has(e.code)) || /Connection terminated|timeout exceeded when trying to connect|the database system is|is not queryable/i.test(message)) {
    return new DependencyUnavailable('postgres', error);
  }
  if (Array.isArray(e.errors) && e.errors.length > 0) return asDependencyError(e.errors[0]);
  return undefined;
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** One place maps errors to the contract's shape; nothing else (no stack, no SQL) leaves the process. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | EngineError, request, reply) => {
    const known = error instanceof EngineError ? error : asDependencyError(error);
    if (known) {
      const status = statusOf[known.code];
      if (status >= 500) request.log.warn({ err: error }, known.message);
      return reply.status(status).send(errorBody(known.code, known.message, known.details));
    }
    const fe = error as FastifyError;
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Fastify's own refusals: unparseable JSON, wrong content type, body too large.
      return reply.status(fe.statusCode === 404 ? 404 : 400).send(errorBody('validation_failed', fe.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('internal_error', 'internal error; it has been logged'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
