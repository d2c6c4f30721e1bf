import { z } from 'zod';

export const userIdSchema = z
  .string({ error: 'userId must be a string' })
  .regex(/^[A-Za-z0-9_.:@-]{1,128}$/, 'userId must be 1-128 characters of A-Za-z0-9_.:@-');

export const featureKeySchema = z
  .string({ error: 'feature must be a string' })
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'feature must be 1-128 characters of A-Za-z0-9_.-');

export const planIdSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, 'plan must be a plan id such as monthly_pro');

export const isoTimestamp = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp' });

/** zod issues as the `details` of a validation_failed error: where, and what is wrong there. */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}
