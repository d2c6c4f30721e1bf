import type { SoakResults } from './soak.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function soakMarkdown(r: SoakResults): string {
  const names = r.memory.map((m) => m.name);
  const cpuColumns = [...names, 'postgres', 'redis', 'loadGenerator', 'other'];
  const samples = table(
    ['t', 'accepted/s', 'applied/s', 'backlog', 'lag p50 / p99', ...names.map((n) => `RSS ${n}`), ...cpuColumns.map((n) => `CPU ${n}`), 'machine busy', 'CPU wait (PSI)', 'Redis used', 'load avg'],
    r.samples.map((s) => [
      `${(s.atSeconds / 60).toFixed(1)} min`,
      int(s.acceptedPerSecond),
      int(s.appliedPerSecond),
      int(s.backlog),
      `${s.lagP50Ms.toFixed(0)} / ${s.lagP99Ms.toFixed(0)} ms`,
      ...names.map((n) => `${s.rss[n]!.floorMb.toFixed(0)}–${s.rss[n]!.peakMb.toFixed(0)} MB`),
      ...cpuColumns.map((n) => `${s.cpuPercentOfCore[n]!.toFixed(0)} %`),
      `${s.machineBusyPercent.toFixed(0)} %`,
      `${s.cpuStallPercent.toFixed(0)} %`,
      `${s.redisUsedMb.toFixed(0)} MB`,
      s.load1m.toFixed(2),
    ]),
  );
  const t = r.throughput;
  const summary = table(
    ['Soak', 'Result'],
    [
      ['Throughput, first minute → last minute', `${int(t.firstMinute)} → ${int(t.lastMinute)} accepted/s (× ${t.ratio.toFixed(2)}): ${t.held ? 'held' : 'DROPPED'}`],
      [
        'Workers kept up',
        `${r.backlog.keptUp ? 'yes' : 'NO'}: backlog grew ${r.backlog.growthPerSecond.toFixed(1)} events/s (least squares), ${int(r.backlog.atEnd)} events behind when the load stopped`,
      ],
      ['Events', `${int(r.http.requests)} accepted (${r.http.errors} errors, ${r.http.timeouts} timeouts, ${r.http.non2xx} non-2xx), ${int(r.applied)} applied; backlog drained ${r.drainSeconds.toFixed(1)} s after the load stopped`],
      ['POST /v1/usage latency, whole soak', `p50 ${r.http.p50Ms.toFixed(2)} ms, p99 ${r.http.p99Ms.toFixed(2)} ms, max ${r.http.maxMs.toFixed(0)} ms`],
      ['Accepted → applied lag, whole soak', `p50 ${r.lag.seen.p50.toFixed(0)} ms, p99 ${r.lag.seen.p99.toFixed(0)} ms (${r.lag.seen.n} sampled events)`],
      ...r.memory.map((m): [string, string] => [
        `RSS ${m.name} (${m.roles})`,
        `floor ${m.firstMinuteMb.toFixed(0)} → ${m.lastMinuteMb.toFixed(0)} MB (first → last minute), ${m.slopeMbPerMinute >= 0 ? '+' : ''}${m.slopeMbPerMinute.toFixed(2)} MB/min after the first minute, peak ${m.peakMb.toFixed(0)} MB: ${m.flat === null ? 'too short to tell' : m.flat ? 'flat' : 'GROWING'}`,
      ]),
      ['Redis', `used_memory ${r.redis.usedMbAtStart.toFixed(0)} → ${r.redis.usedMbAtEnd.toFixed(0)} MB; ${int(r.redis.usageKeysAtEnd)} usage-key records under the run's prefix at the end`],
      ['Machine', `${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, PostgreSQL ${r.machine.postgres}, Redis ${r.machine.redis}; load average ${r.machine.loadAtStart.toFixed(2)} at start; ${r.scheduler.autogroup ? `autogroup scheduling${r.scheduler.ownSessions ? ', each engine process in its own session' : ": the engine's processes share the bench's session"}` : 'no autogroup scheduling'}`],
    ],
  );
  return [
    `## Soak (${r.at}): ${r.minutes} min of single-event POST /v1/usage, ${r.connections} connections, ${r.topology}`,
    '',
    summary,
    '',
    `Every ${r.sampleSeconds} s (rates over the window; RSS: lowest–highest of the window's 1 s readings; CPU in percent of one core):`,
    '',
    samples,
  ].join('\n');
}
