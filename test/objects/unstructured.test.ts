/**
 * objects/unstructured: the safe reads every rule goes through, and jsonEqual (ratcheting's
 * "did what this rule watches change?"). Both were rewritten as plain loops for the hot path
 * (issue 12); these check them against the obvious definitions on generated JSON, including own
 * `__proto__` keys, reordered keys, arrays against objects and missing steps.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { asRecord, getPath, jsonEqual, ownField } from '../../src/objects/unstructured.js'

/** The definition jsonEqual must keep: key order ignored, own enumerable keys, arrays by index. */
function reference(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bl = b as unknown[]
    return a.length === bl.length && a.every((x, i) => reference(x, bl[i]))
  }
  const ao = a as Record<string, unknown>
  const bo = b as Record<string, unknown>
  const keys = Object.keys(ao)
  if (keys.length !== Object.keys(bo).length) return false
  return keys.every((k) => Object.hasOwn(bo, k) && reference(ao[k], bo[k]))
}

/** The same JSON with every object's keys in reverse order. */
function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered)
  if (typeof v !== 'object' || v === null) return v
  return JSON.parse(`{${Object.keys(v).reverse().map((k) => `${JSON.stringify(k)}:${JSON.stringify(reordered((v as Record<string, unknown>)[k]))}`).join(',')}}`) as unknown
}

const json = fc.jsonValue({ maxDepth: 4 })
const keyed = fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor', 'spec', 'version'), json, { maxKeys: 4 })

describe('jsonEqual', () => {
  it('agrees with the reference definition on generated pairs (equal, reordered, near misses)', () => {
    fc.assert(
      fc.property(fc.oneof(json, keyed), fc.oneof(json, keyed), fc.nat(3), (a, b, mode) => {
        const other = mode === 0 ? b : mode === 1 ? reordered(a) : mode === 2 ? JSON.parse(JSON.stringify(a)) : { wrapped: a }
        expect(jsonEqual(a, other)).toBe(reference(a, other))
        expect(jsonEqual(other, a)).toBe(reference(other, a))
      }),
      { numRuns: 2000 },
    )
  })

  it('ignores key order and compares own keys only', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true)
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false)
    expect(jsonEqual(JSON.parse('{"__proto__":{"x":1}}'), JSON.parse('{"__proto__":{"x":1}}'))).toBe(true)
    expect(jsonEqual(JSON.parse('{"__proto__":{"x":1}}'), {})).toBe(false)
    expect(jsonEqual(Object.create({ inherited: 1 }) as object, {})).toBe(true)
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false)
    expect(jsonEqual(1, '1')).toBe(false)
    expect(jsonEqual(null, {})).toBe(false)
  })
})

describe('getPath', () => {
  it('reads own properties only, and stops at anything that is not a plain object', () => {
    const obj = JSON.parse('{"spec":{"template":{"spec":{"version":"v1.33.7"}},"list":[{"a":1}]},"__proto__":{"polluted":true}}') as unknown
    expect(getPath(obj, ['spec', 'template', 'spec', 'version'])).toBe('v1.33.7')
    expect(getPath(obj, ['spec', 'missing', 'version'])).toBeUndefined()
    expect(getPath(obj, ['spec', 'list', '0', 'a'])).toBeUndefined()
    expect(getPath(obj, ['__proto__', 'polluted'])).toBe(true)
    expect(getPath(obj, ['spec', 'toString'])).toBeUndefined()
    expect(getPath({}, ['constructor'])).toBeUndefined()
    expect(getPath(null, [])).toBeNull()
    expect(getPath('text', ['length'])).toBeUndefined()
  })
})

describe('ownField', () => {
  it('is one step of getPath: stepping field by field reads what the whole path reads', () => {
    const step = fc.constantFrom('spec', 'template', 'version', '0', '__proto__', 'constructor', 'length')
    fc.assert(
      fc.property(fc.oneof(json, keyed, fc.dictionary(step, fc.oneof(json, keyed))), fc.array(step, { maxLength: 4 }), (obj, path) => {
        expect(path.reduce<unknown>((o, k) => ownField(o, k), obj)).toEqual(getPath(obj, path))
      }),
      { numRuns: 1000 },
    )
  })
})

describe('asRecord', () => {
  // Names the hot readers spell as literal properties (objects/capi, engine/scope, engine/bypass):
  // none is a property of Object.prototype.
  const LITERALS = ['spec', 'metadata', 'status', 'template', 'version', 'rollout', 'strategy', 'annotations', 'labels', 'name', 'namespace', 'kind']
  const literal = fc.constantFrom(...LITERALS)
  // Every kind of value at every step: objects (also with own prototype-named keys), arrays, null, strings, numbers.
  const step = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.string({ maxLength: 3 }),
      fc.integer(),
      fc.boolean(),
      fc.array(tie('node'), { maxLength: 2 }),
      fc.dictionary(fc.oneof(literal, fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '0')), tie('node'), { maxKeys: 4 }),
    ),
  })).node

  /** A path of literal names, mostly along keys the value has (so most steps find something). */
  function pathInto(value: unknown, picks: readonly number[]): string[] {
    const path: string[] = []
    let current = value
    for (const p of picks) {
      const owned = typeof current === 'object' && current !== null ? Object.keys(current).filter((k) => LITERALS.includes(k)) : []
      const key = (owned.length > 0 && p % 4 !== 0 ? owned[p % owned.length] : LITERALS[p % LITERALS.length]) as string
      path.push(key)
      current = getPath(current, [key])
    }
    return path
  }

  it('stepping with literal names reads what getPath reads, on generated values (JSON.parse output too)', () => {
    fc.assert(
      fc.property(step, fc.array(fc.nat(), { maxLength: 5 }), fc.boolean(), (value, picks, reparse) => {
        const obj = reparse ? (JSON.parse(JSON.stringify(value) ?? 'null') as unknown) : value
        const path = pathInto(obj, picks)
        // `asRecord(o)?.[k]` is what `asRecord(asRecord(obj)?.spec)?.version` does, one literal per step.
        expect(path.reduce<unknown>((o, k) => asRecord(o)?.[k], obj)).toEqual(getPath(obj, path))
      }),
      { numRuns: 3000 },
    )
  })

  it('is what getPath steps into: plain objects only', () => {
    expect(asRecord({ a: 1 })).toEqual({ a: 1 })
    for (const v of [null, undefined, [], [1], 'text', 3, true]) expect(asRecord(v)).toBeUndefined()
  })

  it('differs from getPath for names of Object.prototype: those stay with getPath / ownField', () => {
    // Without an own property of that name the literal read finds the inherited one.
    expect(asRecord({})?.constructor).toBe(Object)
    expect(getPath({}, ['constructor'])).toBeUndefined()
    expect(asRecord(JSON.parse('{}'))?.__proto__).toBe(Object.prototype)
    expect(getPath(JSON.parse('{}'), ['__proto__'])).toBeUndefined()
  })
})
