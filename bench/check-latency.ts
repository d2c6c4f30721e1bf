import autocannon from 'autocannon';
import { API_KEY, type BenchEngine } from './engine.js';

export interface CheckLoad {
  userId: string;
  feature: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface CheckLatency {
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  /** From every 2xx response's own time (autocannon's histogram keeps whole milliseconds only). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** POST /v1/check without a reservation (one read query) under autocannon's closed loop, after a warm-up. */
export async function measureCheckLatency(engine: BenchEngine, load: CheckLoad): Promise<CheckLatency> {
  const body = JSON.stringify({ userId: load.userId, feature: load.feature });
  const probe = await engine.call(API_KEY, 'POST', '/v1/check', body);
  if (probe.status !== 200 || probe.body.allowed !== true) throw new Error(`check: ${probe.status} ${JSON.stringify(probe.body)}`);

  const options: autocannon.Options = {
    url: `${engine.baseUrl}/v1/check`,
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body,
    connections: load.connections,
  };
  await autocannon({ ...options, duration: load.warmupSeconds });

  const times: number[] = [];
  const run = autocannon({ ...options, duration: load.seconds });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await run;
  if (times.length === 0) throw new Error(`check: no successful response (${result.errors} errors, ${result.non2xx} non-2xx)`);
  const sorted = Float64Array.from(times).sort();
  return {
    connections: load.connections,
    seconds: result.duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
