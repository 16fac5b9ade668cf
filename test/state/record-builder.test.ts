/**
 * @module test/state/record-builder
 * The view's record builder: equal sub-objects are stored once and frozen (so a write through
 * one record cannot change another), the record is otherwise the object as given minus
 * managedFields and the last-applied annotation, and nothing that differs is ever shared.
 */
import { describe, expect, it } from 'vitest'
import { RecordBuilder } from '../../src/state/memory-view.js'

type Obj = Record<string, unknown>

const md = (name: string, maxUnavailable: unknown = 1): Obj => ({
  apiVersion: 'cluster.x-k8s.io/v1beta1',
  kind: 'MachineDeployment',
  metadata: {
    name,
    namespace: 'ns',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}', keep: 'me' },
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable }, type: 'RollingUpdate' }, template: { spec: { version: 'v1.33.7', names: [name] } } },
})

describe('RecordBuilder', () => {
  it('stores equal sub-objects once, frozen; the objects themselves and their metadata stay their own', () => {
    const b = new RecordBuilder()
    const one = b.build(md('a')) as Obj
    const two = b.build(md('b')) as Obj
    const s1 = (one.spec as Obj).strategy
    const s2 = (two.spec as Obj).strategy
    expect(s1).toBe(s2)
    expect(Object.isFrozen(s1)).toBe(true)
    expect(() => {
      ;((s1 as Obj).rollingUpdate as Obj).maxSurge = 1
    }).toThrow(TypeError)
    // Different where the objects differ.
    expect((one.spec as Obj).template).not.toBe((two.spec as Obj).template)
    expect(one).not.toBe(two)
    expect(one.metadata).not.toBe(two.metadata)
    expect(Object.isFrozen(one)).toBe(false)
    expect(Object.isFrozen(one.metadata)).toBe(false)
  })

  it('keeps everything else as given, without managedFields and the last-applied copy', () => {
    const b = new RecordBuilder()
    const input = md('a')
    expect(b.build(input)).toEqual({ ...input, metadata: { name: 'a', namespace: 'ns', annotations: { keep: 'me' } } })
  })

  it('never shares values that differ only in type or sign', () => {
    const b = new RecordBuilder()
    const values: unknown[] = [1, '1', true, 'true', null, 'null', 0, -0, [1], ['1']]
    const built = values.map((v) => (b.build(md('x', v)) as { spec: { strategy: { rollingUpdate: { maxUnavailable: unknown } } } }).spec.strategy)
    for (let i = 0; i < values.length; i++) {
      expect(Object.is(built[i]?.rollingUpdate.maxUnavailable, values[i]) || JSON.stringify(built[i]?.rollingUpdate.maxUnavailable) === JSON.stringify(values[i])).toBe(true)
      for (let j = i + 1; j < values.length; j++) expect(built[i]).not.toBe(built[j])
    }
    expect(Object.is(built[7]?.rollingUpdate.maxUnavailable, -0)).toBe(true)
  })

  it('keeps an own __proto__ key a plain key, and shares nothing through it', () => {
    const b = new RecordBuilder()
    const raw = JSON.parse('{"kind":"X","metadata":{"name":"a"},"spec":{"__proto__":{"polluted":true},"a":1}}') as Obj
    const built = b.build(raw) as { spec: Obj }
    expect(Object.hasOwn(built.spec, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(built.spec)).toBe(Object.prototype)
    expect(({} as Obj).polluted).toBeUndefined()
  })

})
