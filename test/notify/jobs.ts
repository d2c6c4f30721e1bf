import { waitFor, type TestEngine } from '../support/engine.js';

/** Runs a scheduled job through the admin API and returns what it returned once its worker finished it. */
export async function jobResult(engine: TestEngine, name: string): Promise<any> {
  const r = await engine.admin('POST', `/admin/api/jobs/${name}/run`, {});
  if (r.status !== 202) throw new Error(`run ${name}: ${JSON.stringify(r.body)}`);
  const queue = engine.running.engine.queues.scheduled;
  await waitFor(async () => {
    const state = await queue.getJobState(r.body.jobId);
    if (state === 'failed') throw new Error(`job ${name} failed`);
    return state === 'completed';
  }, `job ${name} to complete`);
  // Read after completion: a job read while it runs carries no return value yet.
  return (await queue.getJob(r.body.jobId))!.returnvalue;
}
