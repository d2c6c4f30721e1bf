import { readFileSync } from 'node:fs';
import type { RunningProcess } from './engine.js';

/** Resident memory of one process, from /proc/<pid>/status (Linux), in MiB. */
export interface MemoryReading {
  /** VmRSS: resident now. */
  rssMb: number;
  /** VmHWM: the highest resident size since the process started. */
  peakMb: number;
}

const kbField = (status: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);

export function readMemory(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssMb: kbField(status, 'VmRSS') / 1024, peakMb: kbField(status, 'VmHWM') / 1024 };
  } catch {
    return undefined; // gone, or not Linux
  }
}

export interface ProcessMemory {
  name: string;
  roles: string;
  /** VmHWM when the phase ended: the process's peak since start-up (start-up included). */
  peakMb: number;
  /** The highest VmRSS seen by the sampler during the phase. */
  maxSampledMb: number;
  /** VmRSS when the phase ended. */
  endMb: number;
}

/**
 * Samples every engine process's VmRSS once a second while a phase runs; `stop` reads VmHWM too
 * (the kernel's own high-water mark, so a peak between two samples is not missed).
 */
export class RssSampler {
  private readonly max = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly processes: RunningProcess[], private readonly everyMs = 1000) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  private sample(): void {
    for (const p of this.processes) {
      const m = readMemory(p.pid);
      if (m) this.max.set(p.pid, Math.max(this.max.get(p.pid) ?? 0, m.rssMb));
    }
  }

  stop(): ProcessMemory[] {
    clearInterval(this.timer);
    this.sample();
    return this.processes.map((p) => {
      const m = readMemory(p.pid);
      return { name: p.name, roles: p.roles, peakMb: m?.peakMb ?? Number.NaN, maxSampledMb: this.max.get(p.pid) ?? Number.NaN, endMb: m?.rssMb ?? Number.NaN };
    });
  }
}

export interface RssWindow {
  /** The lowest VmRSS of the window: after a garbage collection; a leak lifts it. */
  floorMb: number;
  /** The highest VmRSS of the window. */
  peakMb: number;
  /** VmRSS at the end of the window. */
  nowMb: number;
}

/**
 * VmRSS of every engine process each second, summed up per window (the soak's 30 s): a Node.js
 * process's RSS swings by tens of MB between collections, so one reading per window says little.
 */
export class RssWindows {
  private window = new Map<string, { floor: number; peak: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly processes: RunningProcess[], everyMs = 1000) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): Map<string, number> {
    const now = new Map<string, number>();
    for (const p of this.processes) {
      const rss = readMemory(p.pid)?.rssMb ?? Number.NaN;
      now.set(p.name, rss);
      const w = this.window.get(p.name) ?? { floor: Infinity, peak: -Infinity };
      this.window.set(p.name, { floor: Math.min(w.floor, rss), peak: Math.max(w.peak, rss) });
    }
    return now;
  }

  /** The window since the last call, by process name; starts the next one. */
  take(): Record<string, RssWindow> {
    const now = this.sample();
    const result = Object.fromEntries(
      this.processes.map((p) => {
        const w = this.window.get(p.name)!;
        return [p.name, { floorMb: w.floor, peakMb: w.peak, nowMb: now.get(p.name)! }];
      }),
    );
    this.window = new Map();
    return result;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
