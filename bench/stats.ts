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
