/**
 * control-plane-healthy: a KCP version change needs every control-plane Machine Running with a
 * healthy node and none being deleted. ACP Prerequisites: "All current nodes are healthy and Ready."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { controlPlaneHealthy } from '../../src/rules/control-plane-healthy.js'
import { controlPlaneMachines, healthyLifecycle, machine } from '../helpers/lifecycle.js'
import { catalog, check, cluster, deniedFields, edit, KCP_NAME, kcp, md, only, request, touch, view, type Obj } from '../helpers/objects.js'

const RULE = 'control-plane-healthy'
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const base = (machines: readonly Obj[], extra: readonly Obj[] = []): Obj[] => [cluster(), catalog(), ...machines, ...extra]
const others = healthyLifecycle().filter((o) => !(o.kind === 'Machine' && String((o.metadata as Obj).name).startsWith(KCP_NAME)))

describe.each(LEVELS)('KCP %s, Machines %s', (level) => {
  const k = (version: string): Obj => kcp({ level, version, statusVersion: 'v1.33.7-2' })
  const up = { old: k('v1.33.7-2'), next: k('v1.34.5-3') }
  it.each([
    { name: 'all three Running, Ready, node healthy', machines: controlPlaneMachines({ level }), ...up, expected: [] },
    { name: 'one Ready=False', machines: [...controlPlaneMachines({ level }).slice(0, 2), machine(`${KCP_NAME}-c`, { level, ready: 'False' })], ...up, expected: ['spec.version'] },
    { name: 'one NodeHealthy=False', machines: [...controlPlaneMachines({ level }).slice(0, 2), machine(`${KCP_NAME}-c`, { level, nodeHealthy: 'False' })], ...up, expected: ['spec.version'] },
    { name: 'one being deleted', machines: [...controlPlaneMachines({ level }).slice(0, 2), machine(`${KCP_NAME}-c`, { level, deleting: true })], ...up, expected: ['spec.version'] },
    { name: 'one Provisioning without a node', machines: [...controlPlaneMachines({ level }).slice(0, 2), machine(`${KCP_NAME}-c`, { level, phase: 'Provisioning', node: false })], ...up, expected: ['spec.version'] },
    { name: 'Ready unknown (no condition)', machines: [...controlPlaneMachines({ level }).slice(0, 2), machine(`${KCP_NAME}-c`, { level, ready: null })], ...up, expected: ['spec.version'] },
    { name: 'an unhealthy worker does not count', machines: [...controlPlaneMachines({ level }), machine('w-x', { level, role: 'worker', ready: 'False' })], ...up, expected: [] },
    { name: 'a control-plane Machine of another KCP does not count', machines: [...controlPlaneMachines({ level }), machine('other-cp', { level, owner: 'other', ready: 'False' })], ...up, expected: [] },
    { name: 'unhealthy, but only replicas change (ratchet)', machines: [machine(`${KCP_NAME}-c`, { level, ready: 'False' })], old: k('v1.33.7-2'), next: edit(k('v1.33.7-2'), (o) => ((o.spec as Obj).replicas = 5)), expected: [] },
    { name: 'unhealthy, metadata-only UPDATE (ratchet)', machines: [machine(`${KCP_NAME}-c`, { level, ready: 'False' })], old: k('v1.33.7-2'), next: touch(k('v1.33.7-2')), expected: [] },
  ])('$name', ({ machines, old, next, expected }) => {
    expect(deniedFields(RULE, request('UPDATE', old, next), view(base(machines, others)))).toEqual(expected)
  })

  it('CREATE is not judged (nothing runs yet)', () => {
    expect(deniedFields(RULE, request('CREATE', null, k('v1.34.5-3')), view(base([machine(`${KCP_NAME}-c`, { level, ready: 'False' })], others)))).toEqual([])
  })
})

describe('messages, presence and state', () => {
  const up = { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }) }
  it('names the machines that are not healthy', () => {
    const machines = [machine(`${KCP_NAME}-a`), machine(`${KCP_NAME}-b`, { ready: 'False' }), machine(`${KCP_NAME}-c`, { deleting: true })]
    const [v] = check(controlPlaneHealthy, { ...up, view: view(base(machines, others)) })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.version', type: 'Forbidden', value: 'v1.34.5-3' })
    expect(v?.message).toBe(`2 of 3 control-plane Machines of cpaas-system/bm-workload are not healthy: ${KCP_NAME}-b (Ready=False (NodeNotReady)), ${KCP_NAME}-c (being deleted); with maxSurge 0 CAPI deletes a healthy one next`)
    expect(v?.hint).toContain('kubectl -n cpaas-system get machines -l cluster.x-k8s.io/control-plane,cluster.x-k8s.io/cluster-name=bm-workload')
  })

  it('Machines not present (other lifecycle state is): a warning, never a denial', () => {
    const v = view(base([], others.filter((o) => o.kind !== 'Machine')))
    const d = evaluate(request('UPDATE', up.old, up.next), v, only(RULE))
    expect(d.allowed).toBe(true)
    expect(d.warnings.map((w) => w.message)).toEqual([expect.stringContaining('cannot check: Machine is not present')])
  })

  it('a snapshot without any lifecycle object: the rule stays silent (pre-lifecycle exports)', () => {
    const d = evaluate(request('UPDATE', up.old, up.next), view([cluster(), catalog(), up.old]), only(RULE))
    expect(d).toMatchObject({ allowed: true, warnings: [], denied: [] })
  })

  it('Machines present but none of this control plane: fails closed, saying which cluster', () => {
    const [v] = check(controlPlaneHealthy, { ...up, view: view(base([machine('w-1', { role: 'worker' })], others)) })
    expect(v).toMatchObject({ type: 'NotFound', message: 'cannot check: no control-plane Machine of cluster cpaas-system/bm-workload in the cluster-state view' })
  })

  it('state unavailable: fails closed', () => {
    const v = view(base(controlPlaneMachines(), others))
    v.setStatus({ available: false, reason: 'cache machines not synced' })
    const d = evaluate(request('UPDATE', up.old, up.next), v, only(RULE))
    expect(d.allowed).toBe(false)
    expect(d.denied[0]?.message).toContain('cache machines not synced')
  })

  it('membership: the Cluster whose controlPlaneRef names the KCP, not a label edited in the same request', () => {
    const relabelled = edit(up.next, (o) => (((o.metadata as Obj).labels as Record<string, string>)['cluster.x-k8s.io/cluster-name'] = 'elsewhere'))
    const machines = [...controlPlaneMachines().slice(0, 2), machine(`${KCP_NAME}-c`, { ready: 'False' })]
    expect(deniedFields(RULE, request('UPDATE', up.old, relabelled), view(base(machines, others)))).toEqual(['spec.version'])
  })

  it('an MD is not judged by this rule', () => {
    expect(deniedFields(RULE, request('UPDATE', md({ version: 'v1.32.8' }), md({ version: 'v1.33.7-2' })), view(base([machine(`${KCP_NAME}-c`, { ready: 'False' })], others)))).toEqual([])
  })
})
