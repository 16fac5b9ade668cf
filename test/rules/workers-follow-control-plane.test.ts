/**
 * workers-follow-control-plane: an MD may not ask for a version newer than the control plane's
 * lowest running version. ACP: "Upgrade the control plane Kubernetes version … Upgrade worker
 * nodes to the target Kubernetes version"; GKE: "Cluster version must be greater than or equal
 * to the worker node pool version."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { workersFollowControlPlane } from '../../src/rules/workers-follow-control-plane.js'
import { catalog, check, cluster, deniedFields, kcp, md, only, request, touch, view, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'workers-follow-control-plane'
const F = ['spec.template.spec.version']

/** A cluster whose control plane is at spec `spec`, status `status`. */
const state = (level: ApiLevel, spec: string, status?: string) =>
  view([cluster(), catalog(), kcp({ level, version: spec, ...(status === undefined ? {} : { statusVersion: status }) })])

describe.each(LEVELS)('%s', (level) => {
  const m = (version: unknown): Obj => md({ level, version })
  it.each([
    { name: 'same version as the control plane', cp: ['v1.33.7-2', 'v1.33.7-2'], old: m('v1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'older patch than the control plane', cp: ['v1.33.7-2', 'v1.33.7-2'], old: m('v1.32.7'), new: m('v1.32.8'), expected: [] },
    { name: 'workers first: CP spec v1.33.7-2 but status still v1.32.8', cp: ['v1.33.7-2', 'v1.32.8'], old: m('v1.32.8'), new: m('v1.33.7-2'), expected: F },
    { name: 'newer revision than the control plane (v1.33.7-3 > v1.33.7-2)', cp: ['v1.33.7-2', 'v1.33.7-2'], old: m('v1.33.7-2'), new: m('v1.33.7-3'), expected: F },
    { name: 'newer minor than the control plane', cp: ['v1.33.7-2', 'v1.33.7-2'], old: m('v1.33.7-2'), new: m('v1.34.5'), expected: F },
    { name: 'CREATE newer than the control plane', cp: ['v1.33.7-2', 'v1.33.7-2'], old: null, new: m('v1.34.5'), expected: F },
    { name: 'CREATE at the control plane version', cp: ['v1.33.7-2', 'v1.33.7-2'], old: null, new: m('v1.33.7-2'), expected: [] },
    { name: 'CREATE without a version', cp: ['v1.33.7-2', 'v1.33.7-2'], old: null, new: m(null), expected: [] },
    { name: 'no status yet: compared with spec', cp: ['v1.33.7-2'], old: m('v1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'unparseable version', cp: ['v1.33.7-2', 'v1.33.7-2'], old: m('v1.32.8'), new: m('1.33.7-2'), expected: F },
    { name: 'already ahead, label only (ratchet)', cp: ['v1.33.7-2', 'v1.32.8'], old: m('v1.33.7-2'), new: touch(m('v1.33.7-2')), expected: [] },
  ])('$name', ({ cp, old, new: next, expected }) => {
    const [spec, status] = cp as [string, string | undefined]
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), state(level, spec, status))).toEqual(expected)
  })
})

describe('messages and hints', () => {
  it('says the control plane goes first and what it runs', () => {
    const [v] = check(workersFollowControlPlane, { old: md({ version: 'v1.32.8' }), next: md({ version: 'v1.33.7-2' }), view: state('v1beta1', 'v1.33.7-2', 'v1.32.8') })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'Forbidden', value: 'v1.33.7-2' })
    expect(v?.message).toContain('newer than the control plane cpaas-system/bm-workload-control-plane runs (v1.32.8, spec.version v1.33.7-2)')
    expect(v?.message).toContain('after the control-plane rollout completes')
    expect(v?.hint).toContain('wait until its status.version reaches v1.33.7-2')
    expect(v?.hint).toContain('set spec.template.spec.version to v1.32.8 or older')
  })
})

describe('state', () => {
  it('control plane missing from the view: fails closed', () => {
    const [v] = check(workersFollowControlPlane, { next: md(), view: view([cluster(), catalog()]) })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'NotFound' })
    expect(v?.message).toContain('no KubeadmControlPlane of cluster cpaas-system/bm-workload')
  })

  it('control plane missing, state.onUnavailable: allow → allowed', () => {
    const d = evaluate(request('CREATE', null, md()), view([cluster(), catalog()]), only(RULE, { state: { onUnavailable: 'allow' } }))
    expect(d.allowed).toBe(true)
  })

  it('MD without a cluster name: names spec.clusterName', () => {
    const [v] = check(workersFollowControlPlane, { next: md({ cluster: null }), view: state('v1beta1', 'v1.33.7-2') })
    expect(v).toMatchObject({ field: 'spec.clusterName', hint: 'set spec.clusterName' })
  })

  it('control plane found by Cluster.spec.controlPlaneRef when the label is missing', () => {
    const v = view([cluster(), catalog(), kcp({ version: 'v1.32.8', statusVersion: 'v1.32.8', cluster: null })])
    expect(deniedFields(RULE, request('CREATE', null, md({ version: 'v1.33.7-2' })), v)).toEqual(F)
  })
})
