import { describe, expect, it } from 'vitest';
import { median, ratios } from '../../../bench/ratios.js';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([9, 1.5, 1.2, 1.4, 0.2])).toBe(1.4);
  });

  it('takes the mean of the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is NaN for no values or any unknown one', () => {
    expect(median([])).toBeNaN();
    expect(median([1, Number.NaN, 2])).toBeNaN();
  });
});

describe('ratios', () => {
  it('compares each round with the reference row measured in that round, and reports the median', () => {
    // The machine slowed down between rounds: both sides halved, the ratio held.
    const rows = [{ rps: 2000 }, { rps: 1000 }, { rps: 3000 }];
    const bases = [{ rps: 1000 }, { rps: 500 }, { rps: 1000 }];
    const { medians, rounds } = ratios([['bare', rows, 'baseline', bases, 'RS256', 'req/s only']]);
    expect(rounds).toEqual({ 'bare / baseline, RS256': [2, 2, 3] });
    expect(medians).toEqual({ 'bare / baseline, RS256': 2 });
  });

  it('is not moved by one round that landed in a busy second', () => {
    const rows = [{ rps: 1800 }, { rps: 300 }, { rps: 2100 }];
    const bases = [{ rps: 1000 }, { rps: 1000 }, { rps: 1000 }];
    expect(ratios([['bare', rows, 'baseline', bases, 'RS256', 'req/s only']]).medians).toEqual({
      'bare / baseline, RS256': 1.8,
    });
  });

  it("gives the CPU ratio as the reference's CPU per request over the subject's", () => {
    const rows = [
      { rps: 1, serverCpuUs: 50 },
      { rps: 1, serverCpuUs: 60 },
    ];
    const bases = [
      { rps: 1, serverCpuUs: 120 },
      { rps: 1, serverCpuUs: 120 },
    ];
    const { medians, rounds } = ratios([['bare', rows, 'baseline', bases, '(cache)']]);
    expect(rounds['CPU per request, baseline / bare (cache)']).toEqual([2.4, 2]);
    expect(medians['CPU per request, baseline / bare (cache)']).toBe(2.2);
    expect(medians['bare / baseline (cache)']).toBe(1);
  });

  it('leaves the CPU ratio out when asked, and makes it NaN when a CPU time is unknown', () => {
    const only = ratios([['a', [{ rps: 2 }], 'b', [{ rps: 1 }], 'x', 'req/s only']]);
    expect(Object.keys(only.medians)).toEqual(['a / b, x']);
    const unknown = ratios([['a', [{ rps: 2 }], 'b', [{ rps: 1, serverCpuUs: 10 }], 'x']]);
    expect(unknown.medians['CPU per request, b / a, x']).toBeNaN();
  });

  it('refuses rows without a reference row for each', () => {
    expect(() => ratios([['a', [{ rps: 2 }, { rps: 2 }], 'b', [{ rps: 1 }], 'x']])).toThrow(
      'one reference row per row (2 against 1)',
    );
    expect(() => ratios([['a', [], 'b', [], 'x']])).toThrow('(0 against 0)');
  });
});
