/**
 * @module state/set-index
 * A map from a key to a set (ns/cluster → its MDs' keys, version → its users' records, …): the one
 * pair of helpers both view indexes use.
 */

export function addTo<T>(index: Map<string, Set<T>>, k: string, value: T): void {
  let set = index.get(k)
  if (set === undefined) index.set(k, (set = new Set()))
  set.add(value)
}

/** Removes `value` from the set of `k`, and the set itself once it is empty. */
export function removeFrom<T>(index: Map<string, Set<T>>, k: string, value: T): void {
  const set = index.get(k)
  if (set === undefined) return
  set.delete(value)
  if (set.size === 0) index.delete(k)
}
