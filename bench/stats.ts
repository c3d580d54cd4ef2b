// The benchmarks' summaries of repeated measurements.

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** The first and third quartiles: where the middle half of the values lies. */
export const quartiles = (xs: number[]): [number, number] => {
  const s = [...xs].sort((a, b) => a - b)
  return [s[Math.floor(s.length / 4)] as number, s[Math.floor((3 * s.length) / 4)] as number]
}

/**
 * One line per pair of sides: `of(a, b)`, one figure a round (a difference, a ratio), as its
 * median and middle half.
 */
export function pairLines<S extends string>(
  pairs: readonly (readonly [S, S])[],
  of: (a: S, b: S) => number[],
  { sign, digits, unit = '' }: { sign: string; digits: number; unit?: string },
): string[] {
  return pairs.map(([a, b]) => {
    const values = of(a, b)
    const [q1, q3] = quartiles(values).map((q) => q.toFixed(digits))
    const middle = median(values).toFixed(digits)
    return `  ${a} ${sign} ${b}: ${middle}${unit} (middle half of rounds ${q1} to ${q3})`
  })
}
