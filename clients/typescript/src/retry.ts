import { retryAfterSeconds, TokenEngineError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first one, for 429 and 503 answers (and network failures of safe requests). */
  retries: number;
  /** The first wait when the engine names none; doubled each attempt, with jitter. */
  baseDelayMs: number;
  /** No wait is longer than this, whatever Retry-After says. */
  maxDelayMs: number;
  /** Each attempt's time limit. */
  timeoutMs: number;
}

/**
 * A request the engine can see twice without harm: reads, releases, and usage reports (the
 * idempotencyKey makes a second one the same event). A check that places a hold is not: a lost answer
 * may have held tokens, and sending it again would hold them twice.
 */
function safeToResend(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE' || request.method === 'PUT') return true;
  const path = new URL(request.url).pathname;
  return request.method === 'POST' && (path === '/v1/usage' || path === '/v1/usage/batch');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fetch that tries again when the engine says it is busy (429 `backlogged`, 503 `account_busy`,
 * 503 a dependency down), waiting what `Retry-After` says or a growing, jittered delay. A refused
 * request changed nothing (the contract), so any request may be sent again then; each attempt sends
 * the same bytes, so a usage report keeps its idempotencyKey.
 */
export function retryingFetch(base: typeof fetch, options: RetryOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= options.retries;
      const sent = request.clone();
      let response: Response;
      try {
        response = await base(new Request(sent, { signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), ...(request.signal ? [request.signal] : [])]) }));
      } catch (error) {
        if (request.signal?.aborted) throw error;
        const timedOut = (error as Error).name === 'TimeoutError';
        if (last || !safeToResend(request)) {
          throw new TokenEngineError(
            timedOut ? 'timeout' : 'network_error',
            0,
            `${request.method} ${request.url}: ${timedOut ? `no answer within ${options.timeoutMs} ms` : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`,
          );
        }
        await sleep(backoff(attempt, options));
        continue;
      }
      if (last || (response.status !== 429 && response.status !== 503)) return response;
      const asked = retryAfterSeconds(response.headers.get('retry-after'));
      await response.body?.cancel();
      await sleep(asked === undefined ? backoff(attempt, options) : Math.min(asked * 1000, options.maxDelayMs));
    }
  };
}

function backoff(attempt: number, options: RetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
