// autocannon ships no types; this declares the part of its API the benchmark uses.
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      /** Seconds a request may take before autocannon counts a timeout and reconnects (default 10). */
      timeout?: number;
      /** Requests each connection sends in turn; `setupRequest` can give each one a fresh body. */
      requests?: RequestDefinition[];
    }
    interface RequestDefinition {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
      /** Called before every request is sent; returns the request to send. */
      setupRequest?: (request: RequestDefinition, context: Record<string, unknown>) => RequestDefinition;
      /** Called with every response to this request (status, body as text). */
      onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
    }
    /** Percentiles of a histogram; autocannon records latency in whole milliseconds. */
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
      total: number;
    }
    interface Result {
      /** Seconds. */
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      latency: Histogram;
      requests: Histogram & { sent: number };
    }
    interface Instance extends PromiseLike<Result> {
      /** Every response, with its time in (fractional) milliseconds. */
      on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
    }
  }
  function autocannon(opts: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
