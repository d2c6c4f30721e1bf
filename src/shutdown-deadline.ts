/**
 * Waits for `closing` at most `ms`; past that, runs `force` and returns false. A clean close that waits for
 * Redis can wait for ever while the server is away (BullMQ's Worker.close, taskforcesh/bullmq#4656), and
 * a drain that never ends keeps a process its orchestrator asked to stop.
 */
export async function closeWithin(closing: Promise<unknown>, ms: number, force: () => Promise<void> | void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), ms)));
  const outcome = await Promise.race([closing.then(() => 'closed' as const), expired]).finally(() => clearTimeout(timer));
  if (outcome === 'closed') return true;
  await force();
  return false;
}
