/**
 * @module bench/prometheus
 * Reads one histogram from Prometheus text exposition and estimates quantiles the way
 * PromQL's histogram_quantile() does (linear interpolation inside the bucket), so the figure is
 * the one a dashboard on /metrics would show. Snapshots are subtracted to measure one phase only.
 */

export interface HistogramSnapshot {
  /** Ascending upper bounds (last is +Inf) with cumulative counts. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[]
  readonly count: number
  readonly sum: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/

function labelsOf(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of (text ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1] ?? ''] = m[2] ?? ''
  return out
}

/** The histogram `name` whose labels include `match` (e.g. {endpoint: 'validate'}). */
export function readHistogram(text: string, name: string, match: Readonly<Record<string, string>> = {}): HistogramSnapshot {
  const buckets = new Map<number, number>()
  let count = 0
  let sum = 0
  for (const line of text.split('\n')) {
    const m = LINE.exec(line)
    if (m === null) continue
    const labels = labelsOf(m[2])
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue
    const value = Number(m[3])
    if (m[1] === `${name}_bucket`) {
      const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le)
      buckets.set(le, (buckets.get(le) ?? 0) + value)
    } else if (m[1] === `${name}_count`) count += value
    else if (m[1] === `${name}_sum`) sum += value
  }
  return { buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })), count, sum }
}

/** after − before, bucket by bucket. */
export function subtract(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]))
  return { buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) })), count: after.count - before.count, sum: after.sum - before.sum }
}

export interface QuantileEstimate {
  /** histogram_quantile() value, in the histogram's unit. */
  readonly value: number
  /** The bucket it fell into: the true quantile lies in (lower, upper]. */
  readonly lower: number
  readonly upper: number
}

export function quantile(q: number, h: HistogramSnapshot): QuantileEstimate {
  const total = h.buckets.at(-1)?.count ?? 0
  if (total === 0) return { value: Number.NaN, lower: Number.NaN, upper: Number.NaN }
  const rank = q * total
  let lower = 0
  let below = 0
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return { value: lower, lower, upper: b.le }
      const inBucket = b.count - below
      const value = inBucket === 0 ? b.le : lower + ((b.le - lower) * (rank - below)) / inBucket
      return { value, lower, upper: b.le }
    }
    lower = b.le
    below = b.count
  }
  return { value: lower, lower, upper: Number.POSITIVE_INFINITY }
}
