import type { RunningProcess } from './engine.js';
import { readMemory } from './rss.js';
import { mean, slope } from './stats.js';
import type { SoakSample } from './soak.js';

/** Throughput "held" when the last minute accepted at least this share of the first minute's rate. */
const HELD_RATIO = 0.9;
/** The workers "kept up" when the backlog grew by less than this share of the accepted rate. */
const KEPT_UP_SHARE = 0.02;
/** Memory "flat" when the RSS floor grew less than this after the first minute. */
const FLAT_MB_PER_MINUTE = 1;

export interface SoakProcess {
  name: string;
  roles: string;
  /** Mean of the window floors (lowest RSS of each window) of the first and of the last minute. */
  firstMinuteMb: number;
  lastMinuteMb: number;
  /** Least-squares slope of the window floors after the first minute. */
  slopeMbPerMinute: number;
  /** VmHWM at the end: the process's peak since it started. */
  peakMb: number;
  /** null: too short a soak to tell (fewer than two samples after the first minute). */
  flat: boolean | null;
}

export interface SoakVerdicts {
  throughput: { firstMinute: number; lastMinute: number; ratio: number; held: boolean };
  /**
   * Least-squares growth of the backlog (accepted, not yet applied) over the soak, in events per second:
   * about 0 when the workers keep up; the accepted rate minus the applied rate when they do not.
   */
  backlog: { growthPerSecond: number; atEnd: number; keptUp: boolean };
  memory: SoakProcess[];
}

/** Did throughput hold, did the workers keep up, did memory stay flat: from the soak's samples. */
export function soakVerdicts(samples: SoakSample[], sampleSeconds: number, processes: RunningProcess[]): SoakVerdicts {
  const perMinute = Math.max(1, Math.round(60 / sampleSeconds));
  const first = samples.slice(0, perMinute);
  const last = samples.slice(-perMinute);
  const firstMinute = mean(first.map((s) => s.acceptedPerSecond));
  const lastMinute = mean(last.map((s) => s.acceptedPerSecond));
  const growthPerSecond = slope(samples.map((s) => [s.atSeconds, s.backlog]));
  const memory = processes.map((p) => {
    const floor = (s: SoakSample) => s.rss[p.name]!.floorMb;
    const slopeMbPerMinute = slope(samples.filter((s) => s.atSeconds > 61).map((s) => [s.atSeconds / 60, floor(s)]));
    return {
      name: p.name,
      roles: p.roles,
      firstMinuteMb: mean(first.map(floor)),
      lastMinuteMb: mean(last.map(floor)),
      slopeMbPerMinute,
      peakMb: readMemory(p.pid)?.peakMb ?? Number.NaN,
      flat: Number.isNaN(slopeMbPerMinute) ? null : slopeMbPerMinute < FLAT_MB_PER_MINUTE,
    };
  });
  return {
    throughput: { firstMinute, lastMinute, ratio: lastMinute / firstMinute, held: lastMinute / firstMinute >= HELD_RATIO },
    backlog: { growthPerSecond, atEnd: samples.at(-1)?.backlog ?? 0, keptUp: growthPerSecond < KEPT_UP_SHARE * lastMinute },
    memory,
  };
}
