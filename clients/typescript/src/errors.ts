/**
 * What the engine refused, in the contract's terms: `code` is stable (`insufficient_tokens`,
 * `idempotency_conflict`, `account_not_found`, ...), `status` is the HTTP status, `message` is for people.
 * Failures on the way (the engine unreachable, a timeout) have status 0 and code `network_error` or
 * `timeout`; an answer that is not the contract's shape (a proxy's error page) has code `http_error`.
 */
export class TokenEngineError extends Error {
  override name = 'TokenEngineError';

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
    /** Seconds the engine asked to wait (`Retry-After`), on 429 and 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Whether the same request may succeed later as it is: the engine was busy, backlogged or unreachable. */
  get retryable(): boolean {
    return this.status === 429 || this.status === 503 || this.status === 0;
  }
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/** The error an answer carries, from its status and its body (the contract's shape where it is one). */
export function errorOf(response: Response, body: unknown): TokenEngineError {
  const error = (body as ErrorBody | null | undefined)?.error;
  const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
  if (error && typeof error.code === 'string') {
    return new TokenEngineError(error.code, response.status, typeof error.message === 'string' ? error.message : error.code, error.details, retryAfter);
  }
  return new TokenEngineError('http_error', response.status, `HTTP ${response.status} ${response.statusText}`.trim(), body, retryAfter);
}

/** `Retry-After` as seconds: a number of seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
