/**
 * management-ready: the management-side controllers named in the policy have finished rolling
 * out before a workload rollout starts. ACP Upgrade Sequence 1: "Trigger workload-cluster
 * upgrades only after the management-side controllers have rolled out and become Ready."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { managementReady } from '../../src/rules/management-ready.js'
import { deployment, healthyLifecycle } from '../helpers/lifecycle.js'
import { catalog, check, cluster, deniedFields, kcp, md, only, policy, request, touch, view, type Obj } from '../helpers/objects.js'

const RULE = 'management-ready'
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const notDeployments = healthyLifecycle().filter((o) => o.kind !== 'Deployment')
const CAPI = ['capi-system', 'capi-controller-manager'] as const
const all = (override: Obj | undefined): Obj[] =>
  healthyLifecycle()
    .filter((o) => o.kind === 'Deployment')
    .map((d) => (override !== undefined && (d.metadata as Obj).name === (override.metadata as Obj).name ? override : d))
const world = (deployments: readonly Obj[]): Obj[] => [cluster(), catalog(), ...notDeployments, ...deployments]

describe.each(LEVELS)('%s', (level) => {
  const k = (v: string): Obj => kcp({ level, version: v, statusVersion: 'v1.33.7-2' })
  const m = (v: string): Obj => md({ level, version: v })
  it.each([
    { name: 'KCP upgrade, all rolled out', deps: all(undefined), old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'KCP upgrade, CAPI generation not observed', deps: all(deployment(...CAPI, { generation: 3, observed: 2 })), old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'KCP upgrade, CAPI 1 of 2 updated', deps: all(deployment(...CAPI, { replicas: 2, updated: 1 })), old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'MD upgrade, CAPI not available', deps: all(deployment(...CAPI, { available: 0 })), old: m('v1.32.8'), next: m('v1.33.7-2'), expected: ['spec.template.spec.version'] },
    { name: 'KCP metadata-only UPDATE while CAPI rolls (ratchet)', deps: all(deployment(...CAPI, { available: 0 })), old: k('v1.33.7-2'), next: touch(k('v1.33.7-2')), expected: [] },
    { name: 'a named Deployment missing: warned, not denied', deps: all(undefined).slice(1), old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
  ])('$name', ({ deps, old, next, expected }) => {
    expect(deniedFields(RULE, request('UPDATE', old, next), view(world(deps)))).toEqual(expected)
  })
})

describe('messages and policy', () => {
  const up = { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }) }
  it('names the Deployment, what is behind, and the command to wait with', () => {
    const [v] = check(managementReady, { ...up, view: view(world(all(deployment(...CAPI, { generation: 3, observed: 2 })))) })
    expect(v?.message).toBe('the management-side controllers have not finished rolling out: capi-system/capi-controller-manager (generation 3 not observed yet (observed 2))')
    expect(v?.hint).toBe('wait until they are (kubectl -n capi-system rollout status deployment capi-controller-manager), then change the version')
  })
  it('a Deployment that does not exist is reported as a warning naming it', () => {
    const d = evaluate(request('UPDATE', up.old, up.next), view(world(all(undefined).slice(1))), only(RULE))
    expect(d.allowed).toBe(true)
    expect(d.warnings[0]?.message).toContain('do not exist: capi-system/capi-controller-manager')
  })
  it('Deployments not in the snapshot at all: "not present", a warning', () => {
    const [v] = check(managementReady, { ...up, view: view(world([])) })
    expect(v).toMatchObject({ advisory: true, type: 'NotFound' })
    expect(v?.message).toContain('Deployment is not present')
  })
  it('an empty Deployment list in the policy turns the check into a no-op', () => {
    expect(check(managementReady, { ...up, view: view(world([])), policy: policy({ management: { deployments: [] } }) })).toEqual([])
  })
  it('the policy names the Deployments', () => {
    const p = policy({ management: { deployments: [{ namespace: 'mine', name: 'my-provider' }] } })
    const [v] = check(managementReady, { ...up, view: view(world([deployment('mine', 'my-provider', { available: 0 })])), policy: p })
    expect(v?.message).toContain('mine/my-provider (1/1 updated, 0/1 available)')
  })
  it('state unavailable: fails closed', () => {
    const v = view(world(all(undefined)))
    v.setStatus({ available: false, reason: 'cache deployments/capi-system/capi-controller-manager not synced' })
    expect(evaluate(request('UPDATE', up.old, up.next), v, only(RULE)).allowed).toBe(false)
  })
})
