export const tiers = ['FREE', 'BASIC', 'STANDARD', 'ADVANCED', 'PREMIUM', 'ENTERPRISE', 'MEGA'] as const;
export type Tier = (typeof tiers)[number];

/** A tier is derived from a cost, never stored apart from it. */
export function tierOf(cost: number): Tier {
  if (cost <= 0) return 'FREE';
  if (cost <= 2) return 'BASIC';
  if (cost <= 5) return 'STANDARD';
  if (cost <= 10) return 'ADVANCED';
  if (cost <= 20) return 'PREMIUM';
  if (cost <= 50) return 'ENTERPRISE';
  return 'MEGA';
}
