/**
 * state/named-index: the views' namespace/name maps answer like the one flat Map they replace
 * (insertion order, a value set again keeps its place), without confusing names that contain `/`.
 */
import { describe, expect, it } from 'vitest'
import { NamedIndex } from '../../src/state/named-index.js'

describe('NamedIndex', () => {
  it('gets, replaces and deletes by namespace and name, iterating in insertion order', () => {
    const index = new NamedIndex<string>()
    index.set('ns-b', 'x', 'b/x')
    index.set('ns-a', 'y', 'a/y')
    index.set('ns-b', 'z', 'b/z')
    index.set('ns-b', 'x', 'b/x again')
    expect([...index.values()]).toEqual(['b/x again', 'a/y', 'b/z'])
    expect(index.size).toBe(3)
    expect(index.get('ns-b', 'x')).toBe('b/x again')
    expect(index.get('ns-a', 'x')).toBeUndefined()
    index.delete('ns-b', 'x')
    index.delete('ns-c', 'x')
    expect([...index.values()]).toEqual(['a/y', 'b/z'])
    index.set('ns-b', 'x', 'b/x last')
    expect([...index.values()]).toEqual(['a/y', 'b/z', 'b/x last'])
    index.clear()
    expect(index.size).toBe(0)
    expect(index.get('ns-a', 'y')).toBeUndefined()
  })

  it('keeps a and b/c apart from a/b and c', () => {
    const index = new NamedIndex<number>()
    index.set('a', 'b/c', 1)
    index.set('a/b', 'c', 2)
    expect([index.get('a', 'b/c'), index.get('a/b', 'c'), index.size]).toEqual([1, 2, 2])
  })
})
