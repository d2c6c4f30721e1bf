// The load generator of the floor/engine comparison (bench/floor.ts), in a process of its own so its CPU
// is not the servers': a closed loop of keep-alive HTTP/1.1 connections (node:http, one Agent), each
// sending its next request as soon as the last answer has arrived, every request timed with
// process.hrtime to the microsecond (autocannon keeps whole milliseconds). Started with fork(); takes a
// ClientSpec message, says { timed: true } when the timed phase starts, answers { result } and exits.
import http from 'node:http';
import { spread } from './stats.js';

export interface ClientSpec {
  baseUrl: string;
  path: '/v1/check' | '/v1/usage';
  apiKey: string;
  userIds: string[];
  feature: string;
  /** Usage only: idempotency keys are `${keyPrefix}-${n}`, new for every request (warm-up included). */
  keyPrefix: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface ClientResult {
  connections: number;
  seconds: number;
  /** 2xx answers in the timed window. */
  requests: number;
  requestsPerSecond: number;
  /** Of the 2xx answers, in microseconds. */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  /** Answers by status when any was not 2xx. */
  otherStatuses: Record<string, number>;
  errors: number;
  /** Every 2xx answer's time (µs), so runs of the same server can be pooled (bench/floor.ts). */
  timesUs: number[];
}

async function run(spec: ClientSpec): Promise<ClientResult> {
  const url = new URL(spec.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  let n = 0;
  const body = (): string => {
    const i = n++;
    const userId = spec.userIds[i % spec.userIds.length];
    return spec.path === '/v1/usage'
      ? JSON.stringify({ userId, feature: spec.feature, idempotencyKey: `${spec.keyPrefix}-${i}` })
      : JSON.stringify({ userId, feature: spec.feature });
  };
  const once = (): Promise<[status: number, ns: number]> =>
    new Promise((resolve, reject) => {
      const payload = body();
      const t0 = process.hrtime.bigint();
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: spec.path,
          headers: { authorization: `Bearer ${spec.apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve([res.statusCode ?? 0, Number(process.hrtime.bigint() - t0)]));
          res.once('error', reject);
        },
      );
      req.once('error', reject);
      req.end(payload);
    });

  const phase = async (seconds: number, record: boolean) => {
    const times: number[] = [];
    const otherStatuses: Record<string, number> = {};
    let errors = 0;
    const start = performance.now();
    const until = start + seconds * 1000;
    const loop = async () => {
      while (performance.now() < until) {
        try {
          const [status, ns] = await once();
          if (!record) continue;
          if (status >= 200 && status < 300) times.push(ns / 1000);
          else otherStatuses[status] = (otherStatuses[status] ?? 0) + 1;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    await Promise.all(Array.from({ length: spec.connections }, loop));
    return { times, otherStatuses, errors, seconds: (performance.now() - start) / 1000 };
  };

  if (spec.warmupSeconds > 0) await phase(spec.warmupSeconds, false);
  process.send!({ timed: true });
  const timed = await phase(spec.seconds, true);
  agent.destroy();
  const s = spread(timed.times);
  return {
    connections: spec.connections,
    seconds: timed.seconds,
    requests: timed.times.length,
    requestsPerSecond: timed.times.length / timed.seconds,
    p50Us: s.p50,
    p90Us: s.p90,
    p99Us: s.p99,
    maxUs: s.max,
    otherStatuses: timed.otherStatuses,
    errors: timed.errors,
    timesUs: timed.times,
  };
}

process.once('message', (spec: ClientSpec) => {
  run(spec).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
  );
});
