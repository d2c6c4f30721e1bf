/** The seed's token warning system: the levels and the exact messages users see. */
export const warningLevels = [90, 95, 100] as const;
export type WarningLevel = (typeof warningLevels)[number];

export const warningMessages: Record<WarningLevel, string> = {
  90: '⚠️ You have 10% tokens remaining',
  95: '🚨 Only 5% tokens left - consider upgrading',
  100: '🔒 Token limit reached. Upgrade or wait for renewal',
};

export function percentUsed(used: number, allocated: number): number {
  if (allocated <= 0) return used > 0 ? 100 : 0;
  return Math.floor((100 * used) / allocated);
}

/** The highest level reached at this percentage, or null below 90. */
export function warningFor(percent: number): { level: WarningLevel; message: string } | null {
  const level = [...warningLevels].reverse().find((l) => percent >= l);
  return level ? { level, message: warningMessages[level] } : null;
}
