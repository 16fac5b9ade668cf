/**
 * workers-healthy (default warn): an MD version change with one of its own Machines not
 * healthy. ACP Prerequisites: "All current nodes are healthy and Ready."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { workersHealthy } from '../../src/rules/workers-healthy.js'
import { healthyLifecycle, machine, workerMachines } from '../helpers/lifecycle.js'
import { catalog, check, cluster, fields, kcp, MD_NAME, md, only, request, touch, view, type Obj } from '../helpers/objects.js'

const RULE = 'workers-healthy'
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const rest = healthyLifecycle().filter((o) => !(o.kind === 'Machine' && String((o.metadata as Obj).name).startsWith(MD_NAME)))
const world = (machines: readonly Obj[]): Obj[] => [cluster(), catalog(), kcp({ statusVersion: 'v1.33.7-2' }), ...rest, ...machines]
const asDeny = only({ [RULE]: 'deny' })

describe.each(LEVELS)('%s', (level) => {
  const m = (version: string): Obj => md({ level, version })
  it.each([
    { name: 'all Running and Ready', machines: workerMachines({ level }), old: m('v1.32.8'), next: m('v1.33.7-2'), expected: [] },
    { name: 'one NotReady', machines: [...workerMachines({ level }).slice(0, 2), machine(`${MD_NAME}-c`, { level, role: 'worker', ready: 'False' })], old: m('v1.32.8'), next: m('v1.33.7-2'), expected: ['spec.template.spec.version'] },
    { name: 'one being deleted', machines: [...workerMachines({ level }).slice(0, 2), machine(`${MD_NAME}-c`, { level, role: 'worker', deleting: true })], old: m('v1.32.8'), next: m('v1.33.7-2'), expected: ['spec.template.spec.version'] },
    { name: 'a Machine of another MD does not count', machines: [...workerMachines({ level }), machine('x-1', { level, role: 'worker', deployment: 'other', ready: 'False' })], old: m('v1.32.8'), next: m('v1.33.7-2'), expected: [] },
    { name: 'metadata-only UPDATE (ratchet)', machines: [machine(`${MD_NAME}-c`, { level, role: 'worker', ready: 'False' })], old: m('v1.32.8'), next: touch(m('v1.32.8')), expected: [] },
  ])('$name', ({ machines, old, next, expected }) => {
    // Judged at deny here so the table shows which edits the rule flags (its default is warn).
    expect(fields(evaluate(request('UPDATE', old, next), view(world(machines)), asDeny).denied)).toEqual(expected)
  })
})

describe('default action and messages', () => {
  const bad = [machine(`${MD_NAME}-a`, { role: 'worker', ready: 'False' })]
  it('warns by default: the upgrade is allowed, kubectl prints the warning', () => {
    const d = evaluate(request('UPDATE', md({ version: 'v1.32.8' }), md({ version: 'v1.33.7-2' })), view(world(bad)), only(RULE))
    expect(d.allowed).toBe(true)
    expect(d.warnings.map((w) => w.rule)).toEqual([RULE])
  })
  it('names the Machine and the MD', () => {
    const [v] = check(workersHealthy, { old: md({ version: 'v1.32.8' }), next: md({ version: 'v1.33.7-2' }), view: view(world(bad)), policy: asDeny })
    expect(v?.message).toBe(`1 of 1 Machines of MachineDeployment cpaas-system/${MD_NAME} are not healthy: ${MD_NAME}-a (Ready=False (NodeNotReady)); they count against maxUnavailable`)
  })
  it('Machines not present: a warning', () => {
    const [v] = check(workersHealthy, { old: md({ version: 'v1.32.8' }), next: md({ version: 'v1.33.7-2' }), view: view(world([]).filter((o) => o.kind !== 'Machine')) })
    expect(v).toMatchObject({ advisory: true, type: 'NotFound' })
  })
})
