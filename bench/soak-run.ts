import { measureSoak } from './soak.js';
import { soakMarkdown } from './soak-report.js';
import { LATEST, readLatest, writeLatest } from './results-file.js';
import { step, tidyOpenSessions } from './session.js';

/**
 * `npm run bench -- --soak`: the soak alone. Its figures replace `soak` in latest.json and leave the
 * default run's figures there as they were. Resolves with the exit code.
 */
export async function runSoak(minutes: number): Promise<number> {
  const connections = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 50);
  process.once('SIGINT', () => void tidyOpenSessions().finally(() => process.exit(130)));
  try {
    const soak = await measureSoak(minutes, connections);
    writeLatest({ ...readLatest(), soak });
    console.log(soakMarkdown(soak));
    step(`wrote the soak into ${LATEST}`);
    return 0;
  } catch (error) {
    console.error(error);
    return 1;
  }
}
