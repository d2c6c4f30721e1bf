import autocannon from 'autocannon';
import { spread } from './stats.js';

export interface HttpLoad {
  /** API base URLs; one autocannon instance per URL, the connections split evenly, run in parallel. */
  urls: string[];
  path: string;
  headers: Record<string, string>;
  /** A fresh body for every request (a new idempotency key, another account). */
  body: () => string;
  connections: number;
  seconds: number;
  /** Every 2xx response's body, as it arrives. */
  onSuccess?: (body: string) => void;
}

export interface HttpLoadResult {
  connections: number;
  instances: number;
  seconds: number;
  /** 2xx responses. */
  requests: number;
  requestsPerSecond: number;
  /** From every 2xx response's own time (autocannon's histogram keeps whole milliseconds only). */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  /** Responses by status when any was not 2xx, e.g. {"503": 12}. */
  otherStatuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

/** Closed-loop POST load from `connections` keep-alive connections, spread over every URL. */
export async function runHttpLoad(load: HttpLoad): Promise<HttpLoadResult> {
  const times: number[] = [];
  const otherStatuses: Record<string, number> = {};
  const request: autocannon.RequestDefinition = {
    method: 'POST',
    path: load.path,
    setupRequest: (req) => ({ ...req, body: load.body() }),
    ...(load.onSuccess ? { onResponse: (status: number, body: string) => void (status < 300 && status >= 200 && load.onSuccess!(body)) } : {}),
  };
  const runs = load.urls.map((url, i) => {
    const connections = Math.floor(load.connections / load.urls.length) + (i < load.connections % load.urls.length ? 1 : 0);
    const run = autocannon({ url, method: 'POST', headers: load.headers, connections, duration: load.seconds, requests: [request] });
    run.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
      else otherStatuses[status] = (otherStatuses[status] ?? 0) + 1;
    });
    return run;
  });
  const results = await Promise.all(runs);
  if (times.length === 0) {
    throw new Error(`POST ${load.path}: no successful response (${JSON.stringify(otherStatuses)}, ${results.map((r) => r.errors).join('+')} errors)`);
  }
  const seconds = Math.max(...results.map((r) => r.duration));
  const latency = spread(times);
  return {
    connections: load.connections,
    instances: runs.length,
    seconds,
    requests: times.length,
    requestsPerSecond: times.length / seconds,
    p50Ms: latency.p50,
    p90Ms: latency.p90,
    p99Ms: latency.p99,
    maxMs: latency.max,
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    otherStatuses,
    errors: results.reduce((s, r) => s + r.errors, 0),
    timeouts: results.reduce((s, r) => s + r.timeouts, 0),
  };
}
