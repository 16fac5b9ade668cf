/**
 * @module bench/stats
 * Small statistics helpers shared by the benchmark's processes (no heavy imports: the state
 * probe's RSS must not carry the load generator).
 */

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}
