import fc from 'fast-check';
import { stringify } from 'safe-stable-stringify';
import { describe, expect, it } from 'vitest';
import { canonicalPayload, payloadHash, type UsageEvent } from '../../src/usage/usage-event.js';

// usage_events stores every settled event's payload hash, and a replay is a conflict unless its hash is
// the stored one: the canonical text may never change, whatever the implementation.
describe('the payload hash', () => {
  it('is the stable JSON of the payload, as it always was', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            userId: fc.string({ unit: 'grapheme', minLength: 1 }),
            feature: fc.string({ minLength: 1 }),
            idempotencyKey: fc.string({ minLength: 1 }),
            occurredAt: fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }).map((d) => d.toISOString()),
            reservationId: fc.uuid(),
            metadata: fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue()),
          },
          { requiredKeys: ['userId', 'feature', 'idempotencyKey'] },
        ),
        (e) => {
          const event = e as UsageEvent;
          const expected = stringify({
            userId: event.userId,
            feature: event.feature,
            occurredAt: event.occurredAt ? new Date(event.occurredAt).toISOString() : null,
            reservationId: event.reservationId?.toLowerCase() ?? null,
            metadata: event.metadata ?? null,
          });
          expect(canonicalPayload(event)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('of an event stored before this implementation is the hash stored then', () => {
    const stored = {
      userId: 'kim-0',
      feature: 'resume_review',
      idempotencyKey: 'k-1',
      occurredAt: '2026-11-25T10:00:00+01:00',
      reservationId: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
      metadata: { page: 'résumé', n: 2, nested: { b: 1, a: [1, 'x'] } },
    } as UsageEvent;
    expect(payloadHash(stored)).toBe('VJB7SZxjDDzo1aYV9YmLeRJ1aPeFXpzy2WSgio4NLTs');
    expect(payloadHash({ userId: 'kim-0', feature: 'resume_review', idempotencyKey: 'k-2' } as UsageEvent)).toBe('lWgzLwchg09K3WLY5tdCKEpILiIrGyRQtUfsvPqRHwY');
  });
});
