import { describe, expect, it } from 'vitest';
import { stepWarningMark, type WarningMark } from '../../src/notify/warning-marks.js';

const december = new Date('2026-12-01T00:00:00Z');
const january = new Date('2027-01-01T00:00:00Z');
const fresh: WarningMark = { level: 0, periodStart: null, arming: 0 };

describe('the warning mark: once per level per period, and again after falling back under it', () => {
  it('warns for every level crossed at once, lowest first, and not again at the same level', () => {
    const jump = stepWarningMark(fresh, { periodStart: december, used: 100, allocated: 100 });
    expect(jump).toMatchObject({ crossed: [90, 95, 100], mark: { level: 100, arming: 0 } });
    expect(stepWarningMark(jump.mark, { periodStart: december, used: 100, allocated: 100 })).toMatchObject({ crossed: [], changed: false });
  });

  it('a top-up that leaves the account above 90 percent re-arms 95 and 100 only', () => {
    const full = stepWarningMark(fresh, { periodStart: december, used: 100, allocated: 100 }).mark;
    const topped = stepWarningMark(full, { periodStart: december, used: 100, allocated: 108 }); // 92%
    expect(topped).toMatchObject({ crossed: [], changed: true, mark: { level: 90, arming: 1 } });
    expect(stepWarningMark(topped.mark, { periodStart: december, used: 108, allocated: 108 })).toMatchObject({
      crossed: [95, 100],
      mark: { level: 100, arming: 1 },
    });
  });

  it('a new period starts from nothing, under a new arming so its keys are new', () => {
    const warned = stepWarningMark(fresh, { periodStart: december, used: 90, allocated: 100 }).mark;
    const renewed = stepWarningMark(warned, { periodStart: january, used: 0, allocated: 100 });
    expect(renewed).toMatchObject({ crossed: [], changed: true, mark: { level: 0, periodStart: january, arming: 1 } });
    expect(stepWarningMark(renewed.mark, { periodStart: january, used: 91, allocated: 100 })).toMatchObject({ crossed: [90] });
  });

  it('nothing moves below 90 percent', () => {
    expect(stepWarningMark(fresh, { periodStart: december, used: 89, allocated: 100 })).toMatchObject({ crossed: [], changed: false, mark: fresh });
  });
});
