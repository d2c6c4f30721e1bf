import { runJob, waitFor, type TestEngine } from '../support/engine.js';

/** Moves the test clock to `at`, runs the renewals job as the scheduler would, and waits for the accounts' new periods. */
export async function renewAt(engine: TestEngine, at: string | Date, ...userIds: string[]): Promise<any[]> {
  const now = await engine.setClock(at);
  await runJob(engine, 'renewals');
  return Promise.all(
    userIds.map((userId) =>
      waitFor(async () => {
        const account = (await engine.api('GET', `/v1/accounts/${userId}`)).body;
        return new Date(account.period.end) > now ? account : undefined;
      }, `${userId} to be renewed for ${now.toISOString()}`),
    ),
  );
}

/** The account's ledger, oldest first. */
export async function ledger(engine: TestEngine, userId: string): Promise<any[]> {
  const r = await engine.api('GET', `/v1/accounts/${userId}/ledger?limit=500`);
  return r.body.entries.reverse();
}
