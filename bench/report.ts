import type { Machine } from './machine.js';
import type { UsageThroughput } from './usage-throughput.js';
import type { BullmqCeiling } from './bullmq-ceiling.js';
import type { CheckLatency } from './check-latency.js';
import type { LoadResults } from './load-report.js';

export interface BenchResults {
  at: string;
  machine: Machine;
  setup: {
    topology: string;
    plan: string;
    feature: string;
    batchSize: number;
    batchesInFlight: number;
    usageConcurrency: number;
    usageShards: number;
    batchMaxEvents: number;
  };
  usageSpread: UsageThroughput;
  usageHot: UsageThroughput;
  bullmqNoop: BullmqCeiling;
  ratios: { spreadOverNoop: number; hotOverSpread: number };
  check: CheckLatency;
  /** The same request from one connection (no queueing), for context. */
  checkAlone: CheckLatency;
  targets: { spreadOverNoop: boolean; hotOverSpread: boolean; checkP99: boolean };
  /** The HTTP load run on two topologies (bench/topology-load.ts). */
  load: LoadResults;
}

export const TARGETS = { spreadOverNoop: 1.0, hotOverSpread: 0.5, checkP99Ms: 2 };

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(2)} ms`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

export function markdown(r: BenchResults): string {
  const { usageSpread: spread, usageHot: hot, bullmqNoop: noop, check, checkAlone, ratios, targets, machine, setup } = r;
  const usage = (u: UsageThroughput) =>
    `${int(u.eventsPerSecond)} events/s (${int(u.events)} events in ${u.appliedSeconds.toFixed(2)} s; HTTP accepted at ${int(u.acceptedPerSecond)} events/s)`;
  const rows: Array<[string, string, string]> = [
    [`E2E usage, ${spread.accounts} accounts (accepted → applied)`, usage(spread), ''],
    ['E2E usage, 1 hot account', usage(hot), ''],
    [`BullMQ no-op ceiling (concurrency ${noop.concurrency})`, `${int(noop.jobsPerSecond)} jobs/s (${int(noop.jobs)} jobs in ${noop.seconds.toFixed(2)} s)`, ''],
    ['e2e(spread) / BullMQ no-op', ratios.spreadOverNoop.toFixed(2), `>= ${TARGETS.spreadOverNoop.toFixed(1)}: ${verdict(targets.spreadOverNoop)}`],
    ['hot / spread', ratios.hotOverSpread.toFixed(2), `>= ${TARGETS.hotOverSpread}: ${verdict(targets.hotOverSpread)}`],
    [`POST /v1/check p50 (${check.connections} connections, ${check.seconds.toFixed(0)} s)`, ms(check.p50Ms), ''],
    ['POST /v1/check p99', `${ms(check.p99Ms)} (p90 ${ms(check.p90Ms)}, max ${ms(check.maxMs)})`, `< ${TARGETS.checkP99Ms} ms: ${verdict(targets.checkP99)}`],
    ['POST /v1/check throughput', `${int(check.requestsPerSecond)} req/s (${check.errors} errors, ${check.non2xx} non-2xx)`, ''],
    [
      `POST /v1/check, ${checkAlone.connections} connection (${checkAlone.seconds.toFixed(0)} s)`,
      `p50 ${ms(checkAlone.p50Ms)}, p99 ${ms(checkAlone.p99Ms)}, ${int(checkAlone.requestsPerSecond)} req/s`,
      '',
    ],
  ];
  const machineRows: Array<[string, string]> = [
    ['CPU', machine.cpu],
    ['Cores', String(machine.cores)],
    ['Node.js', machine.node],
    ['PostgreSQL', machine.postgres],
    ['Redis', machine.redis],
    ['Load average (1 min) at start', machine.loadAtStart.toFixed(2)],
    ['Engine', `${setup.topology}; usage concurrency ${setup.usageConcurrency}, ${setup.usageShards} shards, jobs of <= ${setup.batchMaxEvents} events`],
    ['Load', `${setup.plan} accounts, feature ${setup.feature}, ${setup.batchSize} events per POST /v1/usage/batch, ${setup.batchesInFlight} in flight`],
  ];
  return [
    `## Token engine benchmark (${r.at})`,
    '',
    '| Metric | Result | Target |',
    '| --- | --- | --- |',
    ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
    '',
    '| Machine | |',
    '| --- | --- |',
    ...machineRows.map(([a, b]) => `| ${a} | ${b} |`),
  ].join('\n');
}
