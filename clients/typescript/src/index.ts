export { TokenEngine, unwrap } from './client.js';
export type {
  Account,
  CheckResult,
  Dashboard,
  Feature,
  Hold,
  LedgerEntry,
  LedgerPage,
  NewAccount,
  Plan,
  PlanChange,
  Released,
  SettledUsage,
  TokenEngineOptions,
  UsageAccepted,
  UsageBatchAccepted,
  UsageEvent,
  UsageStatus,
  WaitOptions,
} from './client.js';
export { TokenEngineError } from './errors.js';
export { verifyWebhook, WebhookVerificationError } from './webhooks.js';
export type { TokensAlert, TokensWarning, WebhookEvent } from './webhooks.js';
export type { components, operations, paths, webhooks } from './generated/openapi.js';
