/**
 * max-surge-zero: bare-metal KCP and MD roll with maxSurge 0; an MD then needs maxUnavailable ≥ 1;
 * a KCP needs 3 replicas to roll with maxSurge 0.
 * ACP: "Both KubeadmControlPlane.spec.rolloutStrategy.rollingUpdate.maxSurge = 0 and
 * MachineDeployment.spec.strategy.rollingUpdate.maxSurge = 0 are set — bare-metal does not
 * over-provision physical hosts."
 */
import { describe, expect, it } from 'vitest'
import type { ApiLevel } from '../../src/objects/capi.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { maxSurgeZero, parseIntOrPercent } from '../../src/rules/max-surge-zero.js'
import { check, deniedFields, edit, kcp, md, only, outcome, request, touch, world, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'max-surge-zero'

const KCP_SURGE = { v1beta1: 'spec.rolloutStrategy.rollingUpdate.maxSurge', v1beta2: 'spec.rollout.strategy.rollingUpdate.maxSurge' } as const
const MD_SURGE = { v1beta1: 'spec.strategy.rollingUpdate.maxSurge', v1beta2: 'spec.rollout.strategy.rollingUpdate.maxSurge' } as const
const MD_UNAVAILABLE = { v1beta1: 'spec.strategy.rollingUpdate.maxUnavailable', v1beta2: 'spec.rollout.strategy.rollingUpdate.maxUnavailable' } as const

interface Row {
  readonly name: string
  readonly old: Obj | null
  readonly new: Obj
  readonly expected: readonly string[]
}

const setRolloutAfter = (o: Obj, level: ApiLevel): void => {
  const spec = o.spec as Obj
  if (level === 'v1beta1') spec.rolloutAfter = '2026-01-01T00:00:00Z'
  else (spec.rollout as Obj).after = '2026-01-01T00:00:00Z'
}

const infraRef = (o: Obj, level: ApiLevel): Obj => {
  const template = (o.spec as Obj).machineTemplate as Obj
  return (level === 'v1beta1' ? template.infrastructureRef : (template.spec as Obj).infrastructureRef) as Obj
}

const kcpRows = (level: ApiLevel): Row[] => {
  const surge = KCP_SURGE[level]
  const k = (o: Parameters<typeof kcp>[0] = {}): Obj => kcp({ level, ...o })
  const legacy = k({ maxSurge: 1 })
  return [
    { name: 'CREATE maxSurge 0, 3 replicas', old: null, new: k(), expected: [] },
    { name: 'CREATE maxSurge "0%"', old: null, new: k({ maxSurge: '0%' }), expected: [] },
    { name: 'CREATE 5 replicas', old: null, new: k({ replicas: 5 }), expected: [] },
    { name: 'CREATE maxSurge 1 (CAPI default)', old: null, new: k({ maxSurge: 1 }), expected: [surge] },
    { name: 'CREATE maxSurge "25%"', old: null, new: k({ maxSurge: '25%' }), expected: [surge] },
    { name: 'CREATE maxSurge "0" (string without %)', old: null, new: k({ maxSurge: '0' }), expected: [surge] },
    { name: 'CREATE maxSurge -1', old: null, new: k({ maxSurge: -1 }), expected: [surge] },
    { name: 'CREATE rollingUpdate without maxSurge', old: null, new: k({ maxSurge: null }), expected: [surge] },
    { name: 'CREATE without any rollout strategy', old: null, new: k({ strategy: 'omit' }), expected: [surge] },
    { name: 'CREATE 1 replica with maxSurge 0', old: null, new: k({ replicas: 1 }), expected: ['spec.replicas'] },
    { name: 'CREATE replicas unset (CAPI defaults 1)', old: null, new: k({ replicas: null }), expected: ['spec.replicas'] },
    { name: 'UPDATE maxSurge 0 → 1', old: k(), new: k({ maxSurge: 1 }), expected: [surge] },
    { name: 'UPDATE replicas 3 → 1', old: k(), new: k({ replicas: 1 }), expected: ['spec.replicas'] },
    { name: 'CREATE 1 replica with maxSurge 1: both problems at once', old: null, new: k({ replicas: 1, maxSurge: 1 }), expected: [surge, 'spec.replicas'] },
    { name: 'UPDATE legacy 1 replica / maxSurge 1: maxSurge 0 alone is not enough', old: k({ replicas: 1, maxSurge: 1 }), new: k({ replicas: 1 }), expected: ['spec.replicas'] },
    { name: 'UPDATE legacy 1 replica / maxSurge 1: replicas 3 alone is not enough', old: k({ replicas: 1, maxSurge: 1 }), new: k({ replicas: 3, maxSurge: 1 }), expected: [surge] },
    { name: 'UPDATE legacy 1 replica / maxSurge 1: both in one edit', old: k({ replicas: 1, maxSurge: 1 }), new: k(), expected: [] },
    { name: 'UPDATE replicas 3 → 5', old: k(), new: k({ replicas: 5 }), expected: [] },
    { name: 'UPDATE legacy maxSurge 1 → 0 (the fix)', old: legacy, new: k(), expected: [] },
    { name: 'UPDATE legacy maxSurge 1: version bump starts a rollout', old: legacy, new: k({ maxSurge: 1, version: 'v1.33.7-3' }), expected: [surge] },
    { name: 'UPDATE legacy maxSurge 1: kubeadm config change starts a rollout', old: legacy, new: k({ maxSurge: 1, dnsTag: '1.12.4-v4.2.8' }), expected: [surge] },
    { name: 'UPDATE legacy maxSurge 1: new machine template starts a rollout', old: legacy, new: edit(legacy, (o) => (infraRef(o, level).name = 'bm-workload-control-plane-pool-b')), expected: [surge] },
    { name: 'UPDATE legacy maxSurge 1: rolloutAfter starts a rollout', old: legacy, new: edit(legacy, (o) => setRolloutAfter(o, level)), expected: [surge] },
    { name: 'UPDATE legacy maxSurge 1: finalizer + label only (ratchet)', old: legacy, new: touch(legacy), expected: [] },
    { name: 'UPDATE 1 replica: finalizer + label only (ratchet)', old: k({ replicas: 1 }), new: touch(k({ replicas: 1 })), expected: [] },
    { name: 'UPDATE not bare metal, maxSurge 1 (out of scope)', old: k({ infraKind: 'Metal3MachineTemplate' }), new: k({ infraKind: 'Metal3MachineTemplate', maxSurge: 1, version: 'v1.33.7-3' }), expected: [] },
  ]
}

const mdRows = (level: ApiLevel): Row[] => {
  const surge = MD_SURGE[level]
  const unavailable = MD_UNAVAILABLE[level]
  const m = (o: Parameters<typeof md>[0] = {}): Obj => md({ level, ...o })
  const legacy = m({ maxSurge: 1, maxUnavailable: 0 })
  return [
    { name: 'CREATE 0 / 1', old: null, new: m(), expected: [] },
    { name: 'CREATE "0%" / "25%"', old: null, new: m({ maxSurge: '0%', maxUnavailable: '25%' }), expected: [] },
    { name: 'CREATE 0 / 2 (wider budget)', old: null, new: m({ maxUnavailable: 2 }), expected: [] },
    { name: 'CREATE 1 / 0 (CAPI default)', old: null, new: m({ maxSurge: 1, maxUnavailable: 0 }), expected: [surge] },
    { name: 'CREATE maxSurge "10%"', old: null, new: m({ maxSurge: '10%' }), expected: [surge] },
    { name: 'CREATE maxSurge unset', old: null, new: m({ maxSurge: null }), expected: [surge] },
    { name: 'CREATE without strategy', old: null, new: m({ strategy: 'omit' }), expected: [surge] },
    { name: 'CREATE 0 / 0 never progresses', old: null, new: m({ maxUnavailable: 0 }), expected: [unavailable] },
    { name: 'CREATE "0%" / 0 (CAPI misses it)', old: null, new: m({ maxSurge: '0%', maxUnavailable: 0 }), expected: [unavailable] },
    { name: 'CREATE 0 / "0%"', old: null, new: m({ maxUnavailable: '0%' }), expected: [unavailable] },
    { name: 'CREATE 0 / unset (CAPI defaults 0)', old: null, new: m({ maxUnavailable: null }), expected: [unavailable] },
    { name: 'CREATE 0 / -1', old: null, new: m({ maxUnavailable: -1 }), expected: [unavailable] },
    { name: 'CREATE 0 / "1" (string without %)', old: null, new: m({ maxUnavailable: '1' }), expected: [unavailable] },
    { name: 'CREATE OnDelete with maxSurge 1 (no surge)', old: null, new: m({ strategyType: 'OnDelete', maxSurge: 1, maxUnavailable: 0 }), expected: [] },
    { name: 'UPDATE maxSurge 0 → 1', old: m(), new: m({ maxSurge: 1 }), expected: [surge] },
    { name: 'UPDATE maxUnavailable 1 → 0', old: m(), new: m({ maxUnavailable: 0 }), expected: [unavailable] },
    { name: 'UPDATE legacy 1/0 → 0/1 (the fix)', old: legacy, new: m(), expected: [] },
    { name: 'UPDATE legacy 1/0: version bump starts a rollout', old: legacy, new: m({ maxSurge: 1, maxUnavailable: 0, version: 'v1.33.7-3' }), expected: [surge] },
    { name: 'UPDATE legacy 1/0: rolloutAfter starts a rollout', old: legacy, new: edit(legacy, (o) => setRolloutAfter(o, level)), expected: [surge] },
    { name: 'UPDATE legacy 1/0: replicas 3 → 5 (scaling does not roll)', old: legacy, new: edit(legacy, (o) => ((o.spec as Obj).replicas = 5)), expected: [] },
    { name: 'UPDATE legacy 1/0: finalizer + label only (ratchet)', old: legacy, new: touch(legacy), expected: [] },
    { name: 'UPDATE not bare metal 1/0 (out of scope)', old: m({ infraKind: 'DockerMachineTemplate' }), new: m({ infraKind: 'DockerMachineTemplate', maxSurge: 1, maxUnavailable: 0 }), expected: [] },
  ]
}

describe.each(LEVELS)('KubeadmControlPlane %s', (level) => {
  it.each(kcpRows(level))('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), world())).toEqual(expected)
  })
})

describe.each(LEVELS)('MachineDeployment %s', (level) => {
  it.each(mdRows(level))('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), world())).toEqual(expected)
  })
})

describe('messages', () => {
  it.each([
    { name: 'KCP maxSurge 1', obj: kcp({ maxSurge: 1 }), type: 'Invalid', parts: ['over-provision', 'set spec.rolloutStrategy.rollingUpdate.maxSurge: 0'] },
    { name: 'KCP maxSurge unset (v1beta2)', obj: kcp({ level: 'v1beta2', maxSurge: null }), type: 'Required', parts: ['CAPI defaults it to 1', 'set spec.rollout.strategy.rollingUpdate.maxSurge: 0'] },
    { name: 'KCP 1 replica', obj: kcp({ replicas: 1 }), type: 'Forbidden', parts: ['must be scaled to 3 before it can roll on bare metal', 'spec.replicas: 3'] },
    { name: 'MD 0/0', obj: md({ maxUnavailable: 0 }), type: 'Invalid', parts: ['never progress', 'maxUnavailable: 1'] },
    { name: 'MD maxUnavailable unset (v1beta2)', obj: md({ level: 'v1beta2', maxUnavailable: null }), type: 'Required', parts: ['CAPI defaults it to 0', 'set spec.rollout.strategy.rollingUpdate.maxUnavailable: 1'] },
  ])('$name', ({ obj, type, parts }) => {
    const [v] = check(maxSurgeZero, { next: obj })
    expect(v?.rule).toBe(RULE)
    expect(v?.type).toBe(type)
    for (const part of parts) expect(`${v?.message}; ${v?.hint}`).toContain(part)
  })
})

it('KCP with 1 replica and maxSurge 1: the replicas violation says to fix both in one edit', () => {
  const vs = check(maxSurgeZero, { next: kcp({ level: 'v1beta2', replicas: 1, maxSurge: 1 }) })
  expect(vs.map((v) => v.field)).toEqual([KCP_SURGE.v1beta2, 'spec.replicas'])
  expect(vs[1]?.message).toContain('the control plane must be scaled to 3 before it can roll on bare metal')
  expect(vs[1]?.hint).toContain('in the same edit as maxSurge 0')
})

describe('actions (deny / warn / audit / off)', () => {
  const req = request('CREATE', null, kcp({ maxSurge: 1 }))
  const f = `${RULE}@${KCP_SURGE.v1beta1}`
  it.each([
    { name: 'deny rejects', action: 'deny', expected: { allowed: false, denied: [f], warnings: [], audited: [], bypassed: [] } },
    { name: 'warn allows with a warning', action: 'warn', expected: { allowed: true, denied: [], warnings: [f], audited: [], bypassed: [] } },
    { name: 'audit allows and records', action: 'audit', expected: { allowed: true, denied: [], warnings: [], audited: [f], bypassed: [] } },
    { name: 'off does nothing', action: 'off', expected: { allowed: true, denied: [], warnings: [], audited: [], bypassed: [] } },
  ] as const)('$name', ({ action, expected }) => {
    const d = evaluate(req, world(), only({ [RULE]: action }))
    expect(outcome(d)).toEqual(expected)
    expect(d.evaluated.includes(RULE)).toBe(action !== 'off')
  })
})

describe('parseIntOrPercent', () => {
  it.each([
    { name: 'integer', value: 0, expected: { kind: 'int', n: 0 } },
    { name: 'percent', value: '0%', expected: { kind: 'percent', n: 0 } },
    { name: 'negative percent', value: '-5%', expected: { kind: 'percent', n: -5 } },
    { name: 'fraction', value: 0.5, expected: undefined },
    { name: 'string number', value: '1', expected: undefined },
    { name: 'null', value: null, expected: undefined },
  ])('$name', ({ value, expected }) => expect(parseIntOrPercent(value)).toEqual(expected))
})
