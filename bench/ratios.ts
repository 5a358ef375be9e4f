// The hot path's ratios (issue 11): each comparison is measured in several rounds, a reference row right
// before its subject's row in each, the rounds spread over the run; a ratio is the median of its rounds.
// These machines drift by a third or more within one run, so one pair of rows can land in a busy second
// for one side and a quiet one for the other; the median of pairs spread over the run does not follow
// one such pair.

/** What a ratio needs of a measured row. */
export interface Throughput {
  rps: number;
  /** CPU time the measured server spent per request, in µs; absent when unknown. */
  serverCpuUs?: number;
}

/**
 * One comparison: the subject, its rows (one per round), the reference, its rows (the same rounds, in the
 * same order), what is compared, and whether the CPU ratio is left out.
 */
export type Comparison = [
  subject: string,
  rows: readonly Throughput[],
  reference: string,
  bases: readonly Throughput[],
  detail: string,
  only?: 'req/s only',
];

export interface Ratios {
  /** Each ratio's median over its rounds, rounded to two decimals. */
  medians: Record<string, number>;
  /** Each ratio's value in every round, in the order the rounds were measured. */
  rounds: Record<string, number[]>;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** The median; the mean of the middle two for an even count; NaN when any value is. */
export function median(values: readonly number[]): number {
  if (values.length === 0 || values.some(Number.isNaN)) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Each comparison as a req/s ratio ("subject / reference, detail") and, unless marked, as a CPU ratio
 * ("CPU per request, reference / subject, detail"): the reference's CPU per request over the subject's,
 * so 2.0 means the subject needs half the reference's CPU for a request. Unlike req/s it does not depend
 * on the load generator, which shares the two cores and caps every row's req/s (README, Performance).
 * Every round's ratio is taken within the round (a row against the reference row measured just before
 * it), and the median of those is the comparison's ratio.
 */
export function ratios(comparisons: readonly Comparison[]): Ratios {
  const joined = (a: string, b: string, detail: string) =>
    `${a} / ${b}${detail.startsWith('(') ? ' ' : ', '}${detail}`;
  const perRound = (
    rows: readonly Throughput[],
    bases: readonly Throughput[],
    value: (row: Throughput, base: Throughput) => number,
  ): number[] => {
    if (rows.length !== bases.length || rows.length === 0)
      throw new Error(
        `a comparison needs one reference row per row (${rows.length} against ${bases.length})`,
      );
    return rows.map((row, i) => round2(value(row, bases[i] as Throughput)));
  };
  const entries: Array<[string, number[]]> = [
    ...comparisons.map(([subject, rows, reference, bases, detail]): [string, number[]] => [
      joined(subject, reference, detail),
      perRound(rows, bases, (row, base) => row.rps / base.rps),
    ]),
    ...comparisons
      .filter(([, , , , , only]) => only === undefined)
      .map(([subject, rows, reference, bases, detail]): [string, number[]] => [
        `CPU per request, ${joined(reference, subject, detail)}`,
        perRound(rows, bases, (row, base) =>
          row.serverCpuUs && base.serverCpuUs ? base.serverCpuUs / row.serverCpuUs : Number.NaN,
        ),
      ]),
  ];
  return {
    medians: Object.fromEntries(entries.map(([name, values]) => [name, round2(median(values))])),
    rounds: Object.fromEntries(entries),
  };
}
