/** Times are shown (and entered) in UTC, the engine's own zone for periods and schedules. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** A `datetime-local` input's value, read as UTC, to ISO-8601; undefined when empty. */
export function fromUtcInput(value: string): string | undefined {
  if (!value) return undefined;
  const iso = `${value.length === 16 ? `${value}:00` : value}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : new Date(iso).toISOString();
}

/** ISO-8601 to a `datetime-local` input's value in UTC. */
export function toUtcInput(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16) : '';
}

export function money(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

// One definition of the tiers: the engine's own module (it has no dependencies, so it is bundled as is).
export { tierOf, tiers, type Tier } from '../../src/catalog/tiers.js';
import type { Tier } from '../../src/catalog/tiers.js';

export const tierColor: Record<Tier, string> = {
  FREE: 'gray',
  BASIC: 'teal',
  STANDARD: 'blue',
  ADVANCED: 'indigo',
  PREMIUM: 'violet',
  ENTERPRISE: 'grape',
  MEGA: 'red',
};
