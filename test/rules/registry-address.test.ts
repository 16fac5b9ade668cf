/**
 * registry-address: a bare-metal version change needs the owning Cluster to carry
 * cpaas.io/registry-address. ACP troubleshooting: "confirm the new key is in
 * elemental-image-catalog and that the Cluster carries cpaas.io/registry-address."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { registryAddress } from '../../src/rules/registry-address.js'
import { catalog, check, cluster, deniedFields, edit, kcp, md, only, REGISTRY_ANNOTATION, request, touch, view, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'registry-address'
const WITH: Record<string, string> = { [REGISTRY_ANNOTATION]: 'registry.example.com:11443' }
const NONE: Record<string, string> = {}

describe.each(LEVELS)('%s', (level) => {
  const k = (version: string): Obj => kcp({ level, version, statusVersion: 'v1.33.7-2' })
  const m = (version: string | null): Obj => md({ level, version })
  it.each([
    { name: 'KCP upgrade, Cluster annotated', annotations: WITH, old: k('v1.33.7-2'), new: k('v1.34.5-3'), expected: [] },
    { name: 'KCP upgrade, Cluster not annotated', annotations: NONE, old: k('v1.33.7-2'), new: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'KCP upgrade, annotation blank', annotations: { [REGISTRY_ANNOTATION]: '  ' }, old: k('v1.33.7-2'), new: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'KCP CREATE, Cluster not annotated', annotations: NONE, old: null, new: k('v1.33.7-2'), expected: ['spec.version'] },
    { name: 'KCP replicas change, Cluster not annotated (ratchet)', annotations: NONE, old: k('v1.33.7-2'), new: edit(k('v1.33.7-2'), (o) => ((o.spec as Obj).replicas = 5)), expected: [] },
    { name: 'MD upgrade, Cluster annotated', annotations: WITH, old: m('v1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'MD upgrade, Cluster not annotated', annotations: NONE, old: m('v1.32.8'), new: m('v1.33.7-2'), expected: ['spec.template.spec.version'] },
    { name: 'MD finalizer only, Cluster not annotated (ratchet)', annotations: NONE, old: m('v1.32.8'), new: touch(m('v1.32.8')), expected: [] },
    { name: 'MD without a version, Cluster not annotated', annotations: NONE, old: null, new: m(null), expected: [] },
  ])('$name', ({ annotations, old, new: next, expected }) => {
    const v = view([cluster({ annotations }), catalog()])
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), v)).toEqual(expected)
  })
})

describe('messages and state', () => {
  it('names the Cluster and the command that fixes it', () => {
    const [v] = check(registryAddress, { old: md({ version: 'v1.32.8' }), next: md({ version: 'v1.33.7-2' }), view: view([cluster({ annotations: {} })]) })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'Forbidden', value: 'v1.33.7-2' })
    expect(v?.message).toContain('Cluster cpaas-system/bm-workload lacks the cpaas.io/registry-address annotation')
    expect(v?.hint).toBe('kubectl -n cpaas-system annotate cluster bm-workload cpaas.io/registry-address=<registry host:port>')
  })

  it('a policy-named annotation is the one required', () => {
    const p = only(RULE, { registryAnnotation: 'example.com/registry' })
    const ok = view([cluster({ annotations: { 'example.com/registry': 'r:5000' } })])
    const notOk = view([cluster()])
    const req = request('CREATE', null, md())
    expect(evaluate(req, ok, p).allowed).toBe(true)
    expect(evaluate(req, notOk, p).denied[0]?.message).toContain('lacks the example.com/registry annotation')
  })

  it('Cluster missing from the view fails closed; state.onUnavailable: allow fails open', () => {
    const [v] = check(registryAddress, { next: md(), view: view([]) })
    expect(v).toMatchObject({ type: 'NotFound' })
    expect(v?.message).toContain('Cluster cpaas-system/bm-workload is not in the cluster-state view')
    expect(evaluate(request('CREATE', null, md()), view([]), only(RULE, { state: { onUnavailable: 'allow' } })).allowed).toBe(true)
  })

  it('KCP without label finds its Cluster through the owner reference', () => {
    const owned = edit(kcp({ cluster: null }), (o) => {
      ;(o.metadata as Obj).ownerReferences = [{ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', name: 'bm-workload', uid: 'u1' }]
    })
    expect(deniedFields(RULE, request('CREATE', null, owned), view([cluster()]))).toEqual([])
    expect(deniedFields(RULE, request('CREATE', null, owned), view([cluster({ annotations: {} })]))).toEqual(['spec.version'])
  })

  it('KCP with no way to find its Cluster says which link is missing', () => {
    const [v] = check(registryAddress, { next: kcp({ cluster: null }), view: view([cluster()]) })
    expect(v?.message).toContain('no Cluster names it in spec.controlPlaneRef')
    expect(v?.hint).toBe('create the Cluster first (or include it in --state)')
  })
})
