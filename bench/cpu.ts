import { readFileSync } from 'node:fs';
import type { RunningProcess } from './engine.js';

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on every Linux the engine targets). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

export interface ProcessCpu {
  name: string;
  /** Share of one core over the phase: 100 = one core busy the whole time. */
  percentOfCore: number;
}

/** CPU each engine process used between `new CpuMeter(...)` and `read()`. */
export class CpuMeter {
  private readonly start: number[];
  private readonly t0 = performance.now();

  constructor(private readonly processes: RunningProcess[]) {
    this.start = processes.map((p) => cpuSeconds(p.pid));
  }

  read(): ProcessCpu[] {
    const seconds = (performance.now() - this.t0) / 1000;
    return this.processes.map((p, i) => ({ name: p.name, percentOfCore: (100 * (cpuSeconds(p.pid) - this.start[i]!)) / seconds }));
  }
}
