import { EngineError } from '../errors.js';

/**
 * A job run "as of" a moment acts as if that moment had come: expiring holds and grants, renewing
 * periods, granting campaigns. A moment after the engine's now has not come, so it is refused: run
 * early, a job would take what is still owed (holds, grants) or use up the job id the real run needs.
 */
export function requireAsOfNotInFuture(asOf: Date, now: Date): void {
  if (asOf.getTime() > now.getTime()) {
    throw new EngineError('as_of_in_future', `asOf ${asOf.toISOString()} is after the engine's now (${now.toISOString()})`, {
      asOf: asOf.toISOString(),
      now: now.toISOString(),
    });
  }
}
