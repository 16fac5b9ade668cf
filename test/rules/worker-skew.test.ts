/**
 * worker-skew: control-plane minor minus worker minor ≤ allowed skew (1; 2 with the Cluster
 * opt-in; never above the policy maximum), on MD edits and on KCP upgrades.
 * GKE: "a worker node pool version can be up to two minor versions behind the cluster (control
 * plane) version. This n-2 version skew is available as a (Preview) capability … enabled with an
 * annotation … If you don't enable this Preview capability, the maximum version skew between a
 * worker node pool and the cluster is one minor version."
 */
import { describe, expect, it } from 'vitest'
import type { ApiLevel } from '../../src/objects/capi.js'
import { workerSkew } from '../../src/rules/worker-skew.js'
import { catalog, check, cluster, deniedFields, kcp, md, policy, REGISTRY_ANNOTATION, request, SKEW_ANNOTATION, touch, view, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'worker-skew'
const registry = { [REGISTRY_ANNOTATION]: 'registry.example.com:11443' }
const optIn = (n: string) => ({ ...registry, [SKEW_ANNOTATION]: n })

describe.each(LEVELS)('MachineDeployment edits (%s)', (level) => {
  const m = (version: unknown): Obj => md({ level, version })
  /** Control plane at v1.34.5-3 (spec and status). */
  const state = (annotations: Record<string, string> = registry) => view([cluster({ annotations }), catalog(), kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })])
  const F = ['spec.template.spec.version']
  it.each([
    { name: 'same minor', clusterAnnotations: registry, old: m('v1.33.7-2'), new: m('v1.34.5-3'), expected: [] },
    { name: 'one minor behind', clusterAnnotations: registry, old: m('v1.33.7-2'), new: m('v1.33.7-3'), expected: [] },
    { name: 'two behind without opt-in (CREATE)', clusterAnnotations: registry, old: null, new: m('v1.32.8'), expected: F },
    { name: 'two behind without opt-in (UPDATE)', clusterAnnotations: registry, old: m('v1.32.7'), new: m('v1.32.8'), expected: F },
    { name: 'two behind with opt-in "2"', clusterAnnotations: optIn('2'), old: m('v1.32.7'), new: m('v1.32.8'), expected: [] },
    { name: 'three behind with opt-in "3" (capped at the maximum 2)', clusterAnnotations: optIn('3'), old: null, new: m('v1.31.0'), expected: F },
    { name: 'two behind, opt-in not a number', clusterAnnotations: optIn('two'), old: null, new: m('v1.32.8'), expected: F },
    { name: 'two behind, finalizer only (ratchet)', clusterAnnotations: registry, old: m('v1.32.8'), new: touch(m('v1.32.8')), expected: [] },
    { name: 'across majors', clusterAnnotations: optIn('2'), old: null, new: m('v0.34.0'), expected: F },
    { name: 'without a version', clusterAnnotations: registry, old: null, new: m(null), expected: [] },
  ])('$name', ({ clusterAnnotations, old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), state(clusterAnnotations))).toEqual(expected)
  })

  it('mid-rollout control plane: skew counted from its target (spec) version', () => {
    const v = view([cluster(), catalog(), kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' })])
    expect(deniedFields(RULE, request('UPDATE', m('v1.32.7'), m('v1.32.8')), v)).toEqual(F)
  })

  it('policy skew.default 2 allows n-2 without opt-in', () => {
    expect(deniedFields(RULE, request('CREATE', null, m('v1.32.8')), state(), { skew: { default: 2, maximum: 2 } })).toEqual([])
  })
})

describe.each(LEVELS)('KubeadmControlPlane upgrades (%s)', (level) => {
  /** KCP v1.33.7-2 → v1.34.5-3 with two MDs at the given versions. */
  const upgrade = (workers: readonly string[], annotations: Record<string, string> = registry, target = 'v1.34.5-3') => {
    const old = kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
    const mds = workers.map((version, i) => md({ level, name: `bm-workload-pool-${i}`, version }))
    return { req: request('UPDATE', old, kcp({ level, version: target, statusVersion: 'v1.33.7-2' })), v: view([cluster({ annotations }), catalog(), old, ...mds]) }
  }
  it.each([
    { name: 'workers one behind after the upgrade', workers: ['v1.33.7-2', 'v1.33.7-3'], annotations: registry, expected: [] },
    { name: 'workers would be two behind', workers: ['v1.32.8', 'v1.32.7'], annotations: registry, expected: ['spec.version'] },
    { name: 'one of two workers would be two behind', workers: ['v1.33.7-2', 'v1.32.8'], annotations: registry, expected: ['spec.version'] },
    { name: 'two behind with the Cluster opt-in', workers: ['v1.32.8', 'v1.32.7'], annotations: optIn('2'), expected: [] },
    { name: 'no workers', workers: [], annotations: registry, expected: [] },
  ])('$name', ({ workers, annotations, expected }) => {
    const { req, v } = upgrade(workers, annotations)
    expect(deniedFields(RULE, req, v)).toEqual(expected)
  })

  it('a KCP edit that leaves the version alone is not judged (ratchet)', () => {
    const old = kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })
    const v = view([cluster(), catalog(), old, md({ level, version: 'v1.32.8' })])
    expect(deniedFields(RULE, request('UPDATE', old, touch(old)), v)).toEqual([])
  })
})

describe('messages and hints', () => {
  it('a KCP upgrade names every MD left behind, and the opt-in', () => {
    const old = kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
    const v = view([cluster(), catalog(), old, md({ name: 'bm-workload-workers', version: 'v1.32.8' }), md({ name: 'bm-workload-gpu', version: 'v1.32.7' })])
    const [x] = check(workerSkew, { old, next: kcp({ version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' }), view: v })
    expect(x).toMatchObject({ rule: RULE, field: 'spec.version', type: 'Forbidden', value: 'v1.34.5-3' })
    expect(x?.message).toContain('bm-workload-gpu (v1.32.7)')
    expect(x?.message).toContain('bm-workload-workers (v1.32.8)')
    expect(x?.message).toContain('more than 1 minor behind (allowed skew 1: policy default)')
    // The floor minor as its newest catalog key (a hint never names a version that cannot resolve).
    expect(x?.hint).toContain('upgrade those MachineDeployments to v1.33.7-10 (or newer) first')
    expect(x?.hint).toContain(`kubectl annotate cluster bm-workload ${SKEW_ANNOTATION}=2`)
  })

  it('an MD edit says how far behind and where the allowance comes from', () => {
    const v = view([cluster({ annotations: optIn('3') }), kcp({ version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })])
    const [x] = check(workerSkew, { next: md({ version: 'v1.31.0' }), view: v })
    expect(x?.message).toContain('v1.31.0 is 3 minors behind the control plane cpaas-system/bm-workload-control-plane (v1.34.5-3)')
    expect(x?.message).toContain('allowed skew is 2 (policy maximum; the Cluster asks for 3)')
    // This view has no catalog: the hint says to add a v1.32 key rather than "set v1.32.x".
    expect(x?.hint).toContain('set spec.template.spec.version to a v1.32 version or newer (the catalog has no v1.32 key yet: kubectl -n cpaas-system patch configmap')
  })

  it('an MD edit with a catalog names the newest key of the floor minor', () => {
    const v = view([cluster(), catalog(), kcp({ version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })])
    const [x] = check(workerSkew, { next: md({ version: 'v1.32.8' }), view: v })
    expect(x?.hint).toContain('set spec.template.spec.version to v1.33.7-10 (or newer)')
  })

  it('no opt-in hint when the policy maximum equals the default', () => {
    const v = view([cluster(), kcp({ version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })])
    const [x] = check(workerSkew, { next: md({ version: 'v1.32.8' }), view: v, policy: policy({ skew: { default: 1, maximum: 1 } }) })
    expect(x?.hint).not.toContain('annotate')
  })

  it('a custom opt-in annotation name is honoured', () => {
    const p = policy({ skew: { optInAnnotation: 'example.com/n-minus-2' } })
    const v = view([cluster({ annotations: { 'example.com/n-minus-2': '2' } }), kcp({ version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })])
    expect(check(workerSkew, { next: md({ version: 'v1.32.8' }), view: v, policy: p })).toEqual([])
  })
})

describe('state', () => {
  it('MD: control plane missing from the view fails closed', () => {
    const [x] = check(workerSkew, { next: md(), view: view([cluster()]) })
    expect(x).toMatchObject({ rule: RULE, type: 'NotFound', field: 'spec.template.spec.version' })
  })

  it('KCP that no Cluster names, without a label or owner: says which link is missing', () => {
    const [x] = check(workerSkew, { old: kcp({ cluster: null }), next: kcp({ cluster: null, version: 'v1.34.5' }), view: view([]) })
    expect(x).toMatchObject({ field: 'spec.version', type: 'NotFound' })
    expect(x?.message).toContain('no Cluster names it in spec.controlPlaneRef')
  })
})
