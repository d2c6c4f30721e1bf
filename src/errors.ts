/** Errors with a stable `code`; HTTP maps them to a status in one place (src/http/errors.ts). */
export type ErrorCode =
  | 'validation_failed'
  | 'unknown_feature'
  | 'unknown_plan'
  | 'account_not_found'
  | 'reservation_not_found'
  | 'reservation_closed'
  | 'usage_not_found'
  | 'idempotency_conflict'
  | 'invalid_events'
  | 'clock_backwards'
  | 'test_clock_disabled'
  | 'unauthorized'
  | 'not_found'
  | 'dependency_unavailable'
  | 'unknown_job'
  | 'invalid_signature'
  | 'webhook_not_configured'
  | 'event_not_failed'
  | 'stripe_price_taken'
  | 'payload_too_large'
  | 'notification_not_found'
  | 'notification_not_failed'
  | 'as_of_in_future'
  | 'cross_site_request'
  | 'request_timeout'
  | 'feature_exists'
  | 'console_not_built'
  | 'occurred_at_out_of_range'
  | 'balance_limit_exceeded'
  | 'too_many_holds'
  | 'backlogged'
  | 'account_busy'
  | 'unsupported_media_type'
  | 'ledger_invariant_violated'
  | 'internal_error';

export class EngineError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** For a refusal that passes with time (429, 503): how long a caller should wait, sent as Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export class DependencyUnavailable extends EngineError {
  constructor(readonly dependency: 'postgres' | 'redis', cause?: unknown) {
    super('dependency_unavailable', `${dependency} is unavailable; retry later`, { dependency });
    this.cause = cause;
  }
}
