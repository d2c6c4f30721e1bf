/**
 * Billing periods are whole calendar months counted from the account's anchor, in UTC. A period that
 * starts on the 31st ends on the last day of a shorter month, and the next one returns to the 31st:
 * period k always starts at anchor + k months, clamped to the month's end.
 */
export function addMonths(anchor: Date, months: number): Date {
  const y = anchor.getUTCFullYear();
  const m = anchor.getUTCMonth() + months;
  const targetYear = y + Math.floor(m / 12);
  const targetMonth = ((m % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  const day = Math.min(anchor.getUTCDate(), lastDay);
  return new Date(
    Date.UTC(targetYear, targetMonth, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()),
  );
}

export interface Period {
  index: number;
  start: Date;
  end: Date;
}

export function periodAt(anchor: Date, index: number): Period {
  return { index, start: addMonths(anchor, index), end: addMonths(anchor, index + 1) };
}

/** The period of `anchor`'s cycle that contains `at` (index 0 if `at` is before the anchor). */
export function periodContaining(anchor: Date, at: Date): Period {
  let index = Math.max(0, (at.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + at.getUTCMonth() - anchor.getUTCMonth() - 1);
  while (addMonths(anchor, index + 1).getTime() <= at.getTime()) index++;
  return periodAt(anchor, index);
}

export function daysUntil(from: Date, to: Date): number {
  return Math.max(0, Math.ceil((to.getTime() - from.getTime()) / 86_400_000));
}
