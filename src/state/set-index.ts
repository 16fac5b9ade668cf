/**
 * @module state/set-index
 * A map from a key to a set of object keys (ns/cluster → its MDs, version → its users, …): the one
 * pair of helpers both view indexes use.
 */

export function addTo(index: Map<string, Set<string>>, k: string, value: string): void {
  let set = index.get(k)
  if (set === undefined) index.set(k, (set = new Set()))
  set.add(value)
}

/** Removes `value` from the set of `k`, and the set itself once it is empty. */
export function removeFrom(index: Map<string, Set<string>>, k: string, value: string): void {
  const set = index.get(k)
  if (set === undefined) return
  set.delete(value)
  if (set.size === 0) index.delete(k)
}
