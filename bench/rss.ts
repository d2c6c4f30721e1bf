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
