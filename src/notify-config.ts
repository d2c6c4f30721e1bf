import { z } from 'zod';

/** Thresholds of the unusual-usage rules (README, "Unusual usage"). A count of 0 turns its rule off. */
export interface AlertRules {
  windowMinutes: number;
  baselineDays: number;
  burstMinTokens: number;
  burstFactor: number;
  /** The population check (top 1% of accounts in the window) applies once this many accounts are active. */
  burstPopulationMin: number;
  rejections: number;
  usesPerMinute: number;
  activeHours: number;
}

export interface NotifyConfig {
  /** Where tokens.alert goes; TOKENS_NOTIFY_WEBHOOK_URL when not set. */
  alertWebhookUrl: string | undefined;
  attempts: number;
  /** First retry delay; each next one doubles. */
  backoffMs: number;
  timeoutMs: number;
  emailFrom: string;
  alertRules: AlertRules;
}

const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** A Standard Webhooks secret: `whsec_` and the base64 of at least 24 random bytes. */
export const webhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be whsec_ followed by a base64 key (at least 24 bytes)');

/** The environment variables of src/notify, merged into the engine's one config schema (src/config.ts). */
export const notifyEnvShape = {
  TOKENS_ALERT_WEBHOOK_URL: z.url().optional(),
  TOKENS_NOTIFY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(14),
  TOKENS_NOTIFY_BACKOFF_MS: z.coerce.number().int().min(1).default(10_000),
  TOKENS_NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  TOKENS_NOTIFY_EMAIL_FROM: z.string().min(3).default('Token engine <tokens@localhost>'),
  TOKENS_ALERT_WINDOW_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  TOKENS_ALERT_BASELINE_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  TOKENS_ALERT_BURST_MIN_TOKENS: count(100),
  TOKENS_ALERT_BURST_FACTOR: z.coerce.number().min(1).default(5),
  TOKENS_ALERT_BURST_POPULATION_MIN: count(100),
  TOKENS_ALERT_REJECTIONS: count(20),
  TOKENS_ALERT_USES_PER_MINUTE: count(30),
  TOKENS_ALERT_ACTIVE_HOURS: count(20).pipe(z.number().max(24)),
};

const notifyEnvSchema = z.object(notifyEnvShape);

type NotifyEnv = z.infer<typeof notifyEnvSchema> & {
  TOKENS_NOTIFY_WEBHOOK_URL?: string | undefined;
  TOKENS_NOTIFY_WEBHOOK_SECRET?: string | undefined;
};

export function toNotifyConfig(e: NotifyEnv): NotifyConfig {
  // The contract promises signed notifications: refuse to start rather than send unsigned ones.
  if ((e.TOKENS_NOTIFY_WEBHOOK_URL || e.TOKENS_ALERT_WEBHOOK_URL) && !e.TOKENS_NOTIFY_WEBHOOK_SECRET) {
    throw new Error('invalid configuration:\n  TOKENS_NOTIFY_WEBHOOK_SECRET: required when a notification webhook URL is set');
  }
  return {
    alertWebhookUrl: e.TOKENS_ALERT_WEBHOOK_URL ?? e.TOKENS_NOTIFY_WEBHOOK_URL,
    attempts: e.TOKENS_NOTIFY_ATTEMPTS,
    backoffMs: e.TOKENS_NOTIFY_BACKOFF_MS,
    timeoutMs: e.TOKENS_NOTIFY_TIMEOUT_MS,
    emailFrom: e.TOKENS_NOTIFY_EMAIL_FROM,
    alertRules: {
      windowMinutes: e.TOKENS_ALERT_WINDOW_MINUTES,
      baselineDays: e.TOKENS_ALERT_BASELINE_DAYS,
      burstMinTokens: e.TOKENS_ALERT_BURST_MIN_TOKENS,
      burstFactor: e.TOKENS_ALERT_BURST_FACTOR,
      burstPopulationMin: e.TOKENS_ALERT_BURST_POPULATION_MIN,
      rejections: e.TOKENS_ALERT_REJECTIONS,
      usesPerMinute: e.TOKENS_ALERT_USES_PER_MINUTE,
      activeHours: e.TOKENS_ALERT_ACTIVE_HOURS,
    },
  };
}
