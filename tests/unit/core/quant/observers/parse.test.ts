import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../../src/core/errors';
import { formatCalibration, parseCalibration, type CalibrationMethod } from '../../../../../src/core/quant/observers';

describe('parseCalibration / formatCalibration', () => {
  it('accepts the documented forms', () => {
    const cases: [string, CalibrationMethod][] = [
      ['minmax', { kind: 'minmax' }],
      ['ema', { kind: 'ema', decay: 0.999 }],
      ['ema:0.99', { kind: 'ema', decay: 0.99 }],
      ['percentile:99.99', { kind: 'percentile', percentile: 99.99 }],
      ['percentile', { kind: 'percentile', percentile: 99.99 }],
      ['percentile:100', { kind: 'percentile', percentile: 100 }],
      ['kl', { kind: 'kl' }],
      ['mse', { kind: 'mse' }],
      [' KL ', { kind: 'kl' }],
      ['ema:.9', { kind: 'ema', decay: 0.9 }],
    ];
    for (const [text, method] of cases) expect(parseCalibration(text), text).toEqual(method);
  });

  it('format is the inverse of parse', () => {
    for (const text of ['minmax', 'ema:0.999', 'ema:0.5', 'percentile:99.99', 'percentile:99.9', 'kl', 'mse']) {
      expect(formatCalibration(parseCalibration(text))).toBe(text);
    }
    const methods: CalibrationMethod[] = [{ kind: 'ema', decay: 0.123456789 }, { kind: 'percentile', percentile: 99.999 }];
    for (const m of methods) expect(parseCalibration(formatCalibration(m))).toEqual(m);
    expect(formatCalibration(parseCalibration('ema'))).toBe('ema:0.999');
  });

  it('rejects everything else with a sentence naming the string and the accepted forms', () => {
    for (const text of ['', 'max', 'ema:', 'ema:1', 'ema:0', 'ema:-0.5', 'ema:abc', 'ema:0x1', 'ema:0.9x', 'percentile:50', 'percentile:101', 'percentile:Infinity', 'kl:3', 'minmax:1', 'entropy']) {
      let err: unknown;
      try {
        parseCalibration(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('bad-input');
      expect((err as UserError).message).toContain(`'${text}'`);
      expect((err as UserError).message).toContain('minmax, ema');
      expect((err as UserError).message).toContain('percentile:P');
      expect((err as UserError).message).toMatch(/kl or mse\.$/);
    }
    expect(() => parseCalibration('ema:1')).toThrow("Unknown calibration method 'ema:1' (the decay 1 is not between 0 and 1); use minmax, ema (decay 0.999)");
  });
});
