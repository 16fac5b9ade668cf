/**
 * @module test/state/record-builder
 * The view's record builder: equal sub-objects are stored once and frozen (so a write through
 * one record cannot change another), the record is otherwise the object as given minus
 * managedFields and the last-applied annotation, and nothing that differs is ever shared.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { reviewText, serializeOutcome } from '../../src/admission/review.js'
import { loadPolicy } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'
import { plainRecord, RecordBuilder } from '../../src/state/memory-view.js'
import { REFERENCE, REFERENCE_STATE, ROOT } from '../server/helpers.js'

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

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

describe('plain records (one-shot commands)', () => {
  it('the same record as RecordBuilder builds, for any object: only managedFields and last-applied dropped', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.boolean(), fc.boolean(), (spec, extra, withManaged, withLastApplied) => {
        const annotations: Obj = { keep: 'me', other: extra }
        if (withLastApplied) annotations[LAST_APPLIED] = '{"big":"copy"}'
        const metadata: Obj = { name: 'x', namespace: 'ns', annotations, labels: { a: 'b' } }
        if (withManaged) metadata.managedFields = [{ manager: 'kubectl' }]
        const input = JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata, spec, ['__proto__']: extra })) as Obj
        const before = JSON.stringify(input)
        const plain = plainRecord(input)
        expect(plain).toEqual(new RecordBuilder().build(input))
        expect(JSON.stringify(plain)).toBe(JSON.stringify(new RecordBuilder().build(input)))
        // The input itself is left as it was.
        expect(JSON.stringify(input)).toBe(before)
      }),
      { numRuns: 500 },
    )
  })

  it('values that are not objects, or objects without metadata, are taken as they are', () => {
    for (const v of [null, 1, 'x', [1, 2], { kind: 'X' }, { metadata: 'not an object' }]) expect(plainRecord(v)).toBe(v)
  })

  it('a view of plain records answers every captured AdmissionReview as a lean one does, byte for byte', () => {
    const policy = loadPolicy(join(ROOT, 'policies/default.yaml'))
    const lean = loadFileView([REFERENCE_STATE], policy.catalog).view
    const plain = loadFileView([REFERENCE_STATE], policy.catalog, 'plain').view
    expect(plain.guardedObjects().map((o) => o.raw)).toEqual(lean.guardedObjects().map((o) => o.raw))
    let judged = 0
    for (const dir of ['v1beta1', 'v1beta2']) {
      for (const file of readdirSync(join(REFERENCE, dir)).filter((f) => f.endsWith('.json'))) {
        const text = readFileSync(join(REFERENCE, dir, file), 'utf8')
        const endpoint = file.includes('-mutate-') ? 'mutate' : 'validate'
        const a = reviewText(text, endpoint, { policy, view: lean })
        const b = reviewText(text, endpoint, { policy, view: plain })
        expect(a.kind).toBe('response')
        if (a.kind === 'response' && b.kind === 'response') expect(serializeOutcome(b)).toBe(serializeOutcome(a))
        judged++
      }
    }
    expect(judged).toBeGreaterThan(50)
  })
})
