/**
 * @module objects/unstructured
 * Safe reads from objects that came off the wire: nothing here trusts a type.
 */

export type Unstructured = Readonly<Record<string, unknown>>

export function isRecord(value: unknown): value is Unstructured {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads a nested own property; undefined when any step is missing or not an object. */
export function getPath(obj: unknown, path: readonly string[]): unknown {
  let current: unknown = obj
  for (const key of path) {
    if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined
    current = current[key]
  }
  return current
}

export function getString(obj: unknown, path: readonly string[]): string | undefined {
  const value = getPath(obj, path)
  return typeof value === 'string' ? value : undefined
}

/** String-valued entries of a map (labels, annotations, ConfigMap data); others are skipped. */
export function getStringMap(obj: unknown, path: readonly string[]): Readonly<Record<string, string>> {
  const value = getPath(obj, path)
  const out: Record<string, string> = {}
  if (!isRecord(value)) return out
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  return out
}

/** Structural equality for JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bl = b as unknown[]
    return a.length === bl.length && a.every((x, i) => jsonEqual(x, bl[i]))
  }
  const ao = a as Record<string, unknown>
  const bo = b as Record<string, unknown>
  const keys = Object.keys(ao)
  if (keys.length !== Object.keys(bo).length) return false
  return keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]))
}

/** Dotted text of the frozen (shared) paths, e.g. objects/capi fieldPaths(): joined once, not per rule and request. */
const DOTTED = new WeakMap<readonly string[], string>()

export function dotted(path: readonly string[]): string {
  const known = DOTTED.get(path)
  if (known !== undefined) return known
  const text = path.join('.')
  // Only a frozen path cannot change after it was joined.
  if (Object.isFrozen(path)) DOTTED.set(path, text)
  return text
}
