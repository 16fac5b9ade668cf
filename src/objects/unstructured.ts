/**
 * @module objects/unstructured
 * Safe reads from objects that came off the wire: nothing here trusts a type.
 */

export type Unstructured = Readonly<Record<string, unknown>>

export function isRecord(value: unknown): value is Unstructured {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * `value` when it is a plain object (a step {@link getPath} would go into), else undefined.
 *
 * For the fixed paths read on every request, `asRecord(asRecord(obj)?.spec)?.version` instead of
 * `getPath(obj, ['spec', 'version'])`: each literal `.spec` is its own property-access site with
 * its own inline cache, which stays monomorphic, where getPath's single `current[key]` sees every
 * key and shape and goes megamorphic (a hash probe per step, plus an Object.hasOwn).
 *
 * The two read the same only for names that are not properties of Object.prototype (a literal
 * `.constructor`, `.toString` or `.__proto__` finds the inherited one when the object has no own)
 * and only on plain objects (JSON.parse or YAML output). Keys a user or the policy chooses
 * (labels, annotations, catalog keys) always go through getPath / ownField.
 */
export function asRecord(value: unknown): Unstructured | undefined {
  return isRecord(value) ? value : undefined
}

/** Reads a nested own property; undefined when any step is missing or not an object. */
export function getPath(obj: unknown, path: readonly string[]): unknown {
  let current: unknown = obj
  // An indexed loop: this runs a few dozen times per request, and for…of allocated an iterator each time.
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string
    if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined
    current = current[key]
  }
  return current
}

/** One step of {@link getPath}: `obj[key]` when obj is a plain object that owns key. */
export function ownField(obj: unknown, key: string): unknown {
  return isRecord(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined
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

const { hasOwnProperty } = Object.prototype

/** Structural equality for JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const isArray = Array.isArray(a)
  if (isArray !== Array.isArray(b)) return false
  if (isArray) {
    const al = a as readonly unknown[]
    const bl = b as readonly unknown[]
    if (al.length !== bl.length) return false
    for (let i = 0; i < al.length; i++) if (!jsonEqual(al[i], bl[i])) return false
    return true
  }
  // Own enumerable keys, as Object.keys lists them, without building the two key arrays
  // (ratcheting compares whole spec.template subtrees on every UPDATE). hasOwnProperty.call, not
  // Object.hasOwn (same answer): V8 recognises `hasOwnProperty.call(o, k)` on the object and key
  // of a for…in and answers it from the enum cache (measured 0.7 vs 1.0-1.3 µs on an MD template).
  const ao = a as Record<string, unknown>
  const bo = b as Record<string, unknown>
  let count = 0
  for (const k in ao) {
    if (!hasOwnProperty.call(ao, k)) continue
    count++
    if (!hasOwnProperty.call(bo, k) || !jsonEqual(ao[k], bo[k])) return false
  }
  for (const k in bo) if (hasOwnProperty.call(bo, k)) count--
  return count === 0
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
