/**
 * @module state/named-index
 * A map keyed by namespace and name. Lookups, which the views answer a few times per request,
 * go through two levels of Map on the two strings as they are (a string keeps its hash once
 * computed) instead of building `${namespace}/${name}` and hashing that new string each call.
 * Iteration is in insertion order, as one Map keeps it (a value set again keeps its place).
 */

interface Entry<T> {
  value: T
}

export class NamedIndex<T> {
  private readonly byNamespace = new Map<string, Map<string, Entry<T>>>()
  /** Insertion order, for values() (walked on writes and audits, not per request). */
  private readonly order = new Set<Entry<T>>()

  get size(): number {
    return this.order.size
  }

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name)?.value
  }

  set(namespace: string, name: string, value: T): void {
    let names = this.byNamespace.get(namespace)
    if (names === undefined) this.byNamespace.set(namespace, (names = new Map()))
    const known = names.get(name)
    if (known !== undefined) {
      known.value = value
      return
    }
    const entry = { value }
    names.set(name, entry)
    this.order.add(entry)
  }

  delete(namespace: string, name: string): void {
    const names = this.byNamespace.get(namespace)
    const entry = names?.get(name)
    if (names === undefined || entry === undefined) return
    names.delete(name)
    if (names.size === 0) this.byNamespace.delete(namespace)
    this.order.delete(entry)
  }

  clear(): void {
    this.byNamespace.clear()
    this.order.clear()
  }

  *values(): IterableIterator<T> {
    for (const entry of this.order) yield entry.value
  }
}
