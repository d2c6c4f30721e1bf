import type { Machine } from './machine.js';
import type { UsageThroughput } from './usage-throughput.js';
import type { CeilingSweep } from './bullmq-ceiling.js';
import type { LoadResults } from './load-report.js';
import type { ProcessMemory } from './rss.js';
import { floorMarkdown, type FloorComparison } from './floor.js';

export interface BenchResults {
  at: string;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
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
  /** Peak RSS of the engine's processes over the end-to-end phases. */
  usageMemory: ProcessMemory[];
  bullmq: CeilingSweep;
  ratios: { spreadOverNoop: number; hotOverSpread: number };
  /** Left out by `-- --usage` (the end-to-end phases and the ceiling alone). */
  floor?: FloorComparison;
  targets: { e2e: boolean; spreadOverNoop: boolean; hotOverSpread: boolean; apiRss: boolean };
  /** 1-minute load average at the end (the start is in machine). */
  loadAtEnd: number;
  /** The HTTP load run on two topologies (bench/topology-load.ts), with `-- --topologies` only. */
  load?: LoadResults;
}

export const TARGETS = { e2eEventsPerSecond: 20_000, spreadOverNoop: 2.0, hotOverSpread: 0.5, apiRssMb: 200 };

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** The API process's peak over the whole run: the end-to-end phases and the floor comparison. */
export function apiPeakMb(r: Pick<BenchResults, 'usageMemory' | 'floor'>): number {
  return Math.max(...[...r.usageMemory, ...(r.floor?.memory ?? [])].filter((m) => m.name === 'api').map((m) => m.peakMb));
}

export function markdown(r: BenchResults): string {
  const { usageSpread: spread, usageHot: hot, bullmq, ratios, targets, machine, setup } = r;
  const noop = bullmq.best;
  const usage = (u: UsageThroughput) =>
    `${int(u.eventsPerSecond)} events/s (${int(u.events)} events in ${u.appliedSeconds.toFixed(2)} s; HTTP accepted at ${int(u.acceptedPerSecond)} events/s)`;
  const rows: Array<[string, string, string]> = [
    [`E2E usage, ${spread.accounts} accounts (accepted → applied)`, usage(spread), `>= ${int(TARGETS.e2eEventsPerSecond)}/s: ${verdict(targets.e2e)}`],
    ['E2E usage, 1 hot account', usage(hot), ''],
    [
      `BullMQ no-op ceiling (best of concurrency ${bullmq.trials.map((t) => t.concurrency).join(', ')})`,
      `${int(noop.jobsPerSecond)} jobs/s at concurrency ${noop.concurrency} (${bullmq.trials.map((t) => `${t.concurrency}: ${int(t.jobsPerSecond)}`).join(', ')})`,
      '',
    ],
    ['e2e(spread) / BullMQ no-op ceiling', ratios.spreadOverNoop.toFixed(2), `>= ${TARGETS.spreadOverNoop.toFixed(1)}: ${verdict(targets.spreadOverNoop)}`],
    ['hot / spread', ratios.hotOverSpread.toFixed(2), `>= ${TARGETS.hotOverSpread}: ${verdict(targets.hotOverSpread)}`],
    ['API process peak RSS (VmHWM, whole run)', `${int(apiPeakMb(r))} MB`, `<= ${TARGETS.apiRssMb} MB: ${verdict(targets.apiRss)}`],
    ...r.usageMemory.map((m): [string, string, string] => [`RSS, end-to-end phases: ${m.name} (${m.roles})`, `peak ${int(m.peakMb)} MB, at end ${int(m.endMb)} MB`, '']),
  ];
  const machineRows: Array<[string, string]> = [
    ['CPU', machine.cpu],
    ['Cores', String(machine.cores)],
    ['Node.js', machine.node],
    ['PostgreSQL', machine.postgres],
    ['Redis', machine.redis],
    ['Load average (1 min)', `${machine.loadAtStart.toFixed(2)} at start, ${r.loadAtEnd.toFixed(2)} at end`],
    ['Run', `${Math.round(r.seconds)} s`],
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
    usagePhasesMarkdown(spread, hot),
    '',
    ...(r.floor ? [floorMarkdown(r.floor), ''] : []),
    '| Machine | |',
    '| --- | --- |',
    ...machineRows.map(([a, b]) => `| ${a} | ${b} |`),
  ].join('\n');
}

const pct = (n: number) => `${Math.round(n)} %`;

/** Where each end-to-end phase's CPU went, what its transactions carried and where PostgreSQL's sessions waited. */
function usagePhasesMarkdown(spread: UsageThroughput, hot: UsageThroughput): string {
  const phases: Array<[string, UsageThroughput]> = [[`${spread.accounts} accounts`, spread], ['1 hot account', hot]];
  const names = spread.cpu.engine.map((e) => e.name);
  const waits = (u: UsageThroughput) => u.pgWaits.map((w) => `${w.sessions.toFixed(2)} ${w.state}`).join('<br>');
  return [
    'End-to-end phases, first request to last event applied (CPU in percent of one core; the machine has ' +
      'two; WAL: the whole PostgreSQL server, per event):',
    '',
    `| phase | ${names.join(' | ')} | PostgreSQL (its backends) | Redis | load generator | everything else | machine busy | transactions | events / jobs per transaction | WAL per event | WAL syncs | PostgreSQL sessions |`,
    `| --- | ${names.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...phases.map(
      ([name, u]) =>
        `| ${name} | ${u.cpu.engine.map((e) => pct(e.percentOfCore)).join(' | ')} | ${pct(u.cpu.postgres)} | ${pct(u.cpu.redis)} | ${pct(u.cpu.loadGenerator)} | ` +
        `${pct(u.cpu.other)} | ${pct(u.cpu.machineBusyPercent)} | ${u.transactions} | ${Math.round(u.eventsPerTransaction)} / ${u.jobsPerTransaction.toFixed(1)} | ` +
        `${Math.round(u.wal.bytesPerEvent)} B, ${u.wal.recordsPerEvent.toFixed(1)} records | ${u.wal.syncs} | ${waits(u)} |`,
    ),
  ].join('\n');
}
