import { z } from 'zod';

/** An instant as the API answers it: `2026-11-02T00:00:00.000Z`. */
export const isoTime = z.string().describe('ISO-8601 UTC');
