/**
 * The preflight rules through evaluate(): they judge only an UPDATE that starts a version
 * rollout. A metadata-only UPDATE (what CAPI's controllers send all the time) is never denied
 * and never warned by them, however broken the cluster is — and the same state denies a version
 * change under every one of them (the control that the table can fail).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import type { RuleId } from '../../src/rules/ids.js'
import { controlPlaneMachines, deployment, machine, pool, template, workerMachines } from '../helpers/lifecycle.js'
import { CAPI_CONTROLLER, catalog, cluster, edit, KCP_NAME, kcp, MD_NAME, md, only, request, touch, view, withAnnotations, type Obj } from '../helpers/objects.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'

const PREFLIGHT: readonly RuleId[] = ['management-ready', 'management-version', 'control-plane-healthy', 'workers-healthy', 'pool-capacity']
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const allDeny = only(Object.fromEntries(PREFLIGHT.map((id) => [id, 'deny'])) as Partial<Record<RuleId, 'deny'>>)

/** A cluster where every preflight rule would object to a rollout. */
function broken(): ReturnType<typeof view> {
  const v = view([
    cluster(),
    catalog(),
    ...controlPlaneMachines().slice(0, 2),
    machine(`${KCP_NAME}-c`, { ready: 'False' }),
    ...workerMachines().slice(0, 2),
    machine(`${MD_NAME}-c`, { role: 'worker', deleting: true }),
    template(`${KCP_NAME}-template`, 'cp-pool'),
    template(`${MD_NAME}-template`, 'worker-pool'),
    pool('cp-pool', { allocated: 2, unavailable: 1, total: 3 }),
    pool('worker-pool', { allocated: 1, total: 1 }),
    ...DEFAULT_POLICY.management.deployments.map((d) => deployment(d.namespace, d.name, { generation: 5, observed: 4 })),
  ])
  v.lifecycleIndex.setManagementVersion('v1.30.4')
  return v
}

const metadataOnly: readonly { name: string; change: (o: Obj) => Obj }[] = [
  { name: 'finalizer + label (CAPI)', change: (o) => touch(o) },
  { name: 'annotation', change: (o) => withAnnotations(o, { 'example.com/note': 'x' }) },
  { name: 'ownerReference', change: (o) => edit(o, (x) => ((x.metadata as Obj).ownerReferences = [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: 'bm-workload', uid: 'u' }])) },
  { name: 'status only', change: (o) => edit(o, (x) => (x.status = { ...(x.status as Obj | undefined), observedGeneration: 9 })) },
]

describe.each(LEVELS)('%s', (level) => {
  const objects = [
    { kind: 'KCP', obj: kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }), bumped: kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' }), rules: ['management-ready', 'management-version', 'control-plane-healthy', 'pool-capacity'] },
    { kind: 'MD', obj: md({ level, version: 'v1.32.8' }), bumped: md({ level, version: 'v1.33.7-2' }), rules: ['management-ready', 'workers-healthy', 'pool-capacity'] },
  ]
  describe.each(objects)('$kind', ({ obj, bumped, rules }) => {
    it.each(metadataOnly)('a metadata-only UPDATE ($name) is never judged', ({ change }) => {
      const d = evaluate(request('UPDATE', obj, change(obj), CAPI_CONTROLLER), broken(), allDeny)
      expect(d).toMatchObject({ allowed: true, denied: [], warnings: [], audited: [] })
      expect(d.evaluated.filter((id) => (PREFLIGHT as readonly string[]).includes(id))).toEqual([])
    })

    it('control: a version change in the same state is denied by each of them', () => {
      const d = evaluate(request('UPDATE', obj, bumped), broken(), allDeny)
      expect([...new Set(d.denied.map((v) => v.rule))].sort()).toEqual([...rules].sort())
    })

    it('DELETE is never judged', () => {
      expect(evaluate(request('DELETE', obj, null), broken(), allDeny).allowed).toBe(true)
    })
  })
})

describe('property: no metadata-only UPDATE is ever judged by a preflight rule', () => {
  const text = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/)
  const metadataChange = fc.record({
    labels: fc.dictionary(text, text, { maxKeys: 3 }),
    annotations: fc.dictionary(text, fc.string({ maxLength: 40 }), { maxKeys: 3 }),
    finalizers: fc.array(text, { maxLength: 3 }),
    owners: fc.array(fc.record({ kind: fc.constantFrom('Cluster', 'MachineSet', 'KubeadmControlPlane'), name: text }), { maxLength: 2 }),
    generation: fc.nat(1000),
  })
  it('holds for KCPs and MDs of both API levels, in a cluster where every preflight rule objects to a rollout', () => {
    const state = broken()
    fc.assert(
      fc.property(fc.constantFrom(...LEVELS), fc.boolean(), metadataChange, (level, isKcp, m) => {
        const obj = isKcp ? kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }) : md({ level, version: 'v1.32.8' })
        const next = edit(obj, (o) => {
          const meta = o.metadata as Obj
          meta.labels = { ...(meta.labels as Record<string, string>), ...m.labels }
          meta.annotations = m.annotations
          meta.finalizers = m.finalizers
          meta.ownerReferences = m.owners.map((x) => ({ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: x.kind, name: x.name, uid: 'u' }))
          meta.generation = m.generation
        })
        const d = evaluate(request('UPDATE', obj, next, CAPI_CONTROLLER), state, allDeny)
        const judged = [...d.denied, ...d.warnings, ...d.audited].filter((v) => (PREFLIGHT as readonly string[]).includes(v.rule))
        return judged.length === 0 && d.evaluated.every((id) => !(PREFLIGHT as readonly string[]).includes(id))
      }),
      { numRuns: 300 },
    )
  })
})
