// The benchmarks' shared command-line parsing and median (bench/options.ts): a malformed option
// must be refused by name rather than silently change a run, and a median of an even count is the
// mean of the two middle values (the statistic scikit-learn's side of every comparison takes).
import { describe, it, expect } from 'vitest';
import { median, parseOptions, UsageError } from '../bench/options.js';

const KINDS = { n: 'value', cov: 'value', split: 'flag', shader: 'values' } as const;

describe('bench options', () => {
  it('median: the middle value, the mean of the two middle ones, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([0.2268, 0.132])).toBeCloseTo(0.1794, 12);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('reads --name value, --name=value, flags and repeated values', () => {
    const o = parseOptions(['--n', '12', '--cov=diagonal', '--split', '--shader', 'a=x', '--shader=b=y'], KINDS, 'usage');
    expect(o.int('n', 5)).toBe(12);
    expect(o.choice('cov', 'full', ['full', 'diagonal'])).toBe('diagonal');
    expect(o.flag('split')).toBe(true);
    expect(o.strings('shader')).toEqual(['a=x', 'b=y']);
    const defaults = parseOptions([], KINDS, 'usage');
    expect([defaults.int('n', 5), defaults.flag('split'), defaults.string('cov')]).toEqual([5, false, undefined]);
  });

  it('refuses, by name, unknown options, missing and malformed values, repeats and values on flags', () => {
    const cases: [string[], (o: ReturnType<typeof parseOptions>) => unknown, RegExp][] = [
      [['--bogus', '3'], () => 0, /unknown argument "--bogus"/],
      [['--n'], () => 0, /--n needs a value/],
      [['--n', '1', '--n', '2'], () => 0, /--n is given twice/],
      [['--split=yes'], () => 0, /--split takes no value/],
      [['--n', 'abc'], (o) => o.int('n', 1), /--n must be an integer ≥ 1, got "abc"/],
      [['--n', ''], (o) => o.int('n', 1), /--n must be an integer/],
      [['--n', '0'], (o) => o.int('n', 1), /--n must be an integer ≥ 1, got "0"/],
      [['--n', '-2'], (o) => o.positive('n', 1), /--n must be a positive number/],
      [['--cov', 'foo'], (o) => o.choice('cov', 'full', ['full', 'diagonal']), /--cov must be one of full, diagonal, got "foo"/],
    ];
    for (const [argv, read, message] of cases) {
      expect(() => read(parseOptions(argv, KINDS, 'usage')), argv.join(' ')).toThrow(UsageError);
      expect(() => read(parseOptions(argv, KINDS, 'usage')), argv.join(' ')).toThrow(message);
    }
  });
});
