import type { Executor } from '../db/database.js';
import type { Plan } from '../db/schema.js';

/** A plan named by a payment's metadata: undefined (an outcome, not an error) when there is none. */
export async function findPlan(exec: Executor, planId: string): Promise<Plan | undefined> {
  return exec.selectFrom('plans').selectAll().where('id', '=', planId).executeTakeFirst();
}
