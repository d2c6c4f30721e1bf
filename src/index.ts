/** What the package exports to services running in-process beside the engine. */
export { createUsageProducer, type UsageProducer, type ProducerOptions } from './producer.js';
export type { UsageEvent } from './usage/usage-event.js';
export type { AcceptedUsage } from './usage/intake.js';
export { EngineError, type ErrorCode } from './errors.js';
