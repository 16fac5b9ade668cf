/**
 * pool-capacity: the pool of a KCP or MD holds its desired replicas (available + allocated >=
 * replicas: deny otherwise); hosts preparing, reprovisioning or unavailable: warn. ACP
 * Prerequisites: "The relevant pools have enough capacity to replace one node at a time without
 * falling below the desired replica count."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { poolCapacity } from '../../src/rules/pool-capacity.js'
import { healthyLifecycle, pool, template, type Counters } from '../helpers/lifecycle.js'
import { catalog, check, cluster, deniedFields, KCP_NAME, kcp, MD_NAME, md, only, request, touch, view, type Obj } from '../helpers/objects.js'

const RULE = 'pool-capacity'
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const rest = healthyLifecycle().filter((o) => o.kind !== 'MachineInventoryPool')
const world = (cp: Counters | null, workers: Counters | null = { available: 1, allocated: 3, total: 4 }): Obj[] => [cluster(), catalog(), ...rest, pool('cp-pool', cp), pool('worker-pool', workers)]

describe.each(LEVELS)('%s', (level) => {
  const k = (v: string): Obj => kcp({ level, version: v, statusVersion: 'v1.33.7-2' })
  const m = (v: string): Obj => md({ level, version: v })
  it.each([
    { name: 'KCP: allocated 3 of 3', cp: { allocated: 3, total: 3 }, old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'KCP: available 1 + allocated 2 = 3', cp: { available: 1, allocated: 2, total: 3 }, old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'KCP: only 2 usable for 3 replicas', cp: { allocated: 2, unavailable: 1, total: 3 }, old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'KCP: preparing 1 (warn only)', cp: { allocated: 3, preparing: 1, total: 4 }, old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'KCP: pool short, metadata-only UPDATE (ratchet)', cp: { allocated: 1, total: 1 }, old: k('v1.33.7-2'), next: touch(k('v1.33.7-2')), expected: [] },
    { name: 'MD: available 1 + allocated 3 for 3', cp: { allocated: 3, total: 3 }, old: m('v1.32.8'), next: m('v1.33.7-2'), expected: [] },
    { name: 'MD: 2 usable for 3 replicas', cp: { allocated: 3, total: 3 }, workers: { allocated: 2, total: 2 }, old: m('v1.32.8'), next: m('v1.33.7-2'), expected: ['spec.template.spec.version'] },
  ])('$name', ({ cp, workers, old, next, expected }) => {
    expect(deniedFields(RULE, request('UPDATE', old, next), view(world(cp, workers)))).toEqual(expected)
  })
})

describe('messages, presence and state', () => {
  const up = { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }) }
  it('says how many hosts to add, with the pool counters', () => {
    const [v] = check(poolCapacity, { ...up, view: view(world({ allocated: 2, unavailable: 1, total: 3 })) })
    expect(v?.message).toBe('pool cpaas-system/cp-pool cannot hold 3 replicas during the rollout: available + allocated = 2 (available 0, allocated 2, preparing 0, reprovisioning 0, unavailable 1, total 3)')
    expect(v?.hint).toContain('add 1 MachineInventory to the pool (kubectl -n cpaas-system edit machineinventorypool cp-pool)')
  })
  it('hosts in flight: one warning, allowed', () => {
    const d = evaluate(request('UPDATE', up.old, up.next), view(world({ allocated: 3, reprovisioning: 1, total: 4 })), only(RULE))
    expect(d.allowed).toBe(true)
    expect(d.warnings.map((w) => w.rule)).toEqual([RULE])
  })
  it('provider kinds not present: a warning, never a denial', () => {
    const noProvider = [cluster(), catalog(), ...rest.filter((o) => o.kind !== 'BaremetalMachineTemplate')]
    const d = evaluate(request('UPDATE', up.old, up.next), view(noProvider), only(RULE))
    expect(d.allowed).toBe(true)
    expect(d.warnings[0]?.message).toContain('BaremetalMachineTemplate is not present')
  })
  it.each([
    { name: 'the template is missing', objects: [cluster(), catalog(), ...rest.filter((o) => !(o.kind === 'BaremetalMachineTemplate' && (o.metadata as Obj).name === `${KCP_NAME}-template`)), pool('cp-pool')], text: `BaremetalMachineTemplate cpaas-system/${KCP_NAME}-template is not in the cluster-state view` },
    { name: 'the template names no pool', objects: [cluster(), catalog(), ...rest.filter((o) => o.kind !== 'BaremetalMachineTemplate'), template(`${KCP_NAME}-template`, null), template(`${MD_NAME}-template`, 'worker-pool'), pool('cp-pool')], text: 'names no pool' },
    { name: 'the pool is missing', objects: [cluster(), catalog(), ...rest, pool('worker-pool')], text: 'MachineInventoryPool cpaas-system/cp-pool is not in the cluster-state view' },
    { name: 'the pool has no status', objects: world(null), text: 'has reported no status yet' },
  ])('fails closed when $name', ({ objects, text }) => {
    const d = evaluate(request('UPDATE', up.old, up.next), view(objects), only(RULE))
    expect(d.allowed).toBe(false)
    expect(d.denied[0]?.message).toContain(text)
  })
  it('state unavailable: fails closed', () => {
    const v = view(world({ allocated: 3, total: 3 }))
    v.setStatus({ available: false, reason: 'x' })
    expect(evaluate(request('UPDATE', up.old, up.next), v, only(RULE)).allowed).toBe(false)
  })
})
