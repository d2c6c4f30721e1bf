import type { HttpLoadResult } from './http-load.js';
import type { PhaseLoad, TopologyLoad } from './topology-load.js';
import type { CpuReading } from './cpu.js';
import type { WaitShare } from './pg-waits.js';

export interface LoadResults {
  settings: { connections: number; seconds: number; warmupSeconds: number; accounts: number; plan: string; feature: string };
  topologies: TopologyLoad[];
  cores: number;
  /** Linux autogroup: the CPU is shared between sessions; the engine's processes share the bench's session unless BENCH_OWN_SESSIONS=1. */
  scheduler: { autogroup: boolean; ownSessions: boolean };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)} ms` : 'n/a');
const pct = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} %` : 'n/a');
const mb = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} MB` : 'n/a');
const load = (p: PhaseLoad) => `${p.loadAtStart.toFixed(2)} → ${p.loadAtEnd.toFixed(2)}`;
const failures = (r: HttpLoadResult) =>
  `${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx${r.non2xx ? ` ${JSON.stringify(r.otherStatuses)}` : ''}`;
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function loadMarkdown(r: LoadResults): string {
  const { settings: s, topologies } = r;
  const http = table(
    ['Topology', 'Endpoint', 'req/s', 'p50', 'p99', 'max', 'failures', 'load avg (1 min)'],
    topologies.flatMap((t) => [
      [t.topology, 'POST /v1/usage (1 event)', int(t.usage.requestsPerSecond), ms(t.usage.p50Ms), ms(t.usage.p99Ms), ms(t.usage.maxMs), failures(t.usage), load(t.usage)],
      [t.topology, 'POST /v1/check', int(t.check.requestsPerSecond), ms(t.check.p50Ms), ms(t.check.p99Ms), ms(t.check.maxMs), failures(t.check), load(t.check)],
    ]),
  );
  const applied = table(
    ['Topology', 'accepted', 'applied/s (start → drained)', 'lag p50 / p99 (seen)', 'lag p50 / p99 (settled_at)', 'drain after stop', 'events/job', 'jobs/transaction', 'job p50 / p99'],
    topologies.map(({ topology, usage: u }) => [
      topology,
      int(u.requests),
      int(u.appliedPerSecond),
      `${ms(u.lag.seen.p50)} / ${ms(u.lag.seen.p99)}`,
      `${ms(u.lag.settledAt.p50)} / ${ms(u.lag.settledAt.p99)}`,
      `${u.drainSeconds.toFixed(2)} s`,
      u.jobs.eventsPerJob.toFixed(2),
      u.jobs.jobsPerTransaction.toFixed(2),
      `${ms(u.jobs.jobMs.p50)} / ${ms(u.jobs.jobMs.p99)}`,
    ]),
  );
  const processes = table(
    ['Topology', 'Process (roles)', 'peak RSS (VmHWM)', 'max RSS sampled', 'RSS at end', 'CPU, usage load', 'CPU, check load'],
    topologies.flatMap((t) =>
      t.memory.map((m) => {
        const cpu = (c: CpuReading) => pct(c.engine.find((e) => e.name === m.name)?.percentOfCore ?? NaN);
        return [t.topology, `${m.name} (${m.roles})`, mb(m.peakMb), mb(m.maxSampledMb), mb(m.endMb), cpu(t.usage.cpu), cpu(t.check.cpu)];
      }),
    ),
  );
  const cpuRow = (topology: string, phase: string, c: CpuReading) => [
    topology,
    phase,
    `${c.machineBusyPercent.toFixed(0)} %`,
    pct(c.cpuStallPercent),
    pct(c.engine.reduce((s, e) => s + e.percentOfCore, 0)),
    pct(c.postgres),
    pct(c.redis),
    pct(c.loadGenerator),
    pct(c.other),
  ];
  const cpu = table(
    ['Topology', 'Phase', 'machine busy (all cores)', 'some task waiting for a CPU', 'engine processes', 'PostgreSQL (its backends)', 'Redis (whole server)', 'load generator', 'everything else'],
    topologies.flatMap((t) => [cpuRow(t.topology, 'usage load', t.usage.cpu), cpuRow(t.topology, 'check load', t.check.cpu)]),
  );
  const waits = (w: WaitShare[]) => w.map((x) => `${x.sessions.toFixed(2)} ${x.state}`).join('<br>');
  const pgWaits = table(
    ['Topology', 'usage load', 'check load'],
    topologies.map((t) => [t.topology, waits(t.usage.pgWaits), waits(t.check.pgWaits)]),
  );
  return [
    `### HTTP load: ${s.connections} connections, ${s.seconds} s per endpoint (after ${s.warmupSeconds} s of warm-up each), ${s.accounts} ${s.plan} accounts, feature ${s.feature}`,
    '',
    http,
    '',
    `Accepted → applied (lag: every ${topologies[0]?.usage.lag.every ?? '?'}th accepted event, first seen settled by a ${topologies[0]?.usage.lag.pollMs ?? '?'} ms poll / its settled_at, i.e. its transaction's start):`,
    '',
    applied,
    '',
    'Engine processes (CPU: percent of one core over the timed phase):',
    '',
    processes,
    '',
    `Where the CPU went during each timed phase (percent of one core; the machine has ${r.cores}; ${
      r.scheduler.autogroup
        ? r.scheduler.ownSessions
          ? 'autogroup scheduling, each engine process in a session of its own'
          : "autogroup scheduling: the engine's processes and the load generator share one session's share of the CPU"
        : 'no autogroup scheduling'
    }):`,
    '',
    cpu,
    '',
    "The engine's PostgreSQL sessions, average number in each state during the timed phase (`idle in transaction: Client/ClientRead`: a transaction waiting for the engine's next statement):",
    '',
    pgWaits,
  ].join('\n');
}
