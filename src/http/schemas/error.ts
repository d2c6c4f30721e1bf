import { z } from 'zod';

/** The contract's error shape: every non-2xx answer of the engine, Fastify's own refusals included. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable, for programs: `validation_failed`, `unknown_feature`, `account_not_found`, ...'),
      message: z.string().describe('for people: what is wrong, naming the field or the value'),
      details: z.unknown().optional().describe('what the code concerns: the invalid fields `[{path, message}]`, the key, the account'),
    }),
  })
  .meta({ id: 'Error', description: 'Every non-2xx answer: `{"error": {"code", "message", "details"}}`. A refused request changes nothing.' });
