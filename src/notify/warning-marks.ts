import { percentUsed, warningFor, warningLevels, type WarningLevel } from '../accounts/warning-levels.js';

/** What an account remembers of the warnings it was sent (columns of `accounts`). */
export interface WarningMark {
  level: number;
  periodStart: Date | null;
  arming: number;
}

export interface AccountState {
  periodStart: Date;
  used: number;
  allocated: number;
}

export interface MarkStep {
  mark: WarningMark;
  /** Levels to warn about now, lowest first. */
  crossed: WarningLevel[];
  changed: boolean;
}

/**
 * Once per level per period, and again after falling back under it: the mark is the highest level
 * already warned in the current period. A new period, or a grant that lowers the percentage below the
 * mark, lowers it and bumps `arming`, so the next crossing is a new notification with a new key.
 */
export function stepWarningMark(mark: WarningMark, state: AccountState): MarkStep {
  const reached = warningFor(percentUsed(state.used, state.allocated))?.level ?? 0;
  const samePeriod = mark.periodStart !== null && mark.periodStart.getTime() === state.periodStart.getTime();
  let level = samePeriod ? mark.level : 0;
  let arming = mark.arming;
  if (!samePeriod && mark.level > 0) arming++;
  if (reached < level) {
    level = reached;
    arming++;
  }
  const crossed = warningLevels.filter((l) => l > level && l <= reached);
  if (crossed.length > 0) level = reached;
  const next = { level, periodStart: state.periodStart, arming };
  const changed = next.level !== mark.level || next.arming !== mark.arming;
  return { mark: changed ? next : mark, crossed, changed };
}
