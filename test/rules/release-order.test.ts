/**
 * release-order: with release dates in the policy, a worker may not run a version released later
 * than the control plane's. GKE: "Worker node pools can't be at a version that released
 * chronologically later than the cluster version."
 */
import { describe, expect, it } from 'vitest'
import type { ApiLevel } from '../../src/objects/capi.js'
import { releaseOrder } from '../../src/rules/release-order.js'
import { check, cluster, deniedFields, kcp, md, only, policy, request, touch, view } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'release-order'

/** The GKE example: 1.16.4 was released after 1.28.0-gke.425. */
const DATES = {
  releaseDates: {
    'v1.16.3': '2023-08-01',
    'v1.28.0-gke.425': '2023-12-05',
    'v1.16.4': '2024-01-10',
    'v1.28.100-gke.146': '2024-02-20',
  },
}

describe.each(LEVELS)('%s', (level) => {
  const cp = (version: string) => kcp({ level, version, statusVersion: version })
  const m = (version: string | null, name = 'bm-workload-pool') => md({ level, name, version })

  it.each([
    { name: 'MD: worker released before the CP', cpVersion: 'v1.28.0-gke.425', old: m('v1.16.3'), new: m('v1.16.3'), expected: [] },
    { name: 'MD: worker 1.16.3 → 1.16.4, released after CP 1.28.0-gke.425 (GKE example)', cpVersion: 'v1.28.0-gke.425', old: m('v1.16.3'), new: m('v1.16.4'), expected: ['spec.template.spec.version'] },
    { name: 'MD: 1.16.4 under CP 1.28.100-gke.146 (released later) is fine', cpVersion: 'v1.28.100-gke.146', old: m('v1.16.3'), new: m('v1.16.4'), expected: [] },
    { name: 'MD: CREATE released after the CP', cpVersion: 'v1.28.0-gke.425', old: null, new: m('v1.16.4'), expected: ['spec.template.spec.version'] },
    { name: 'MD: worker version without a date', cpVersion: 'v1.28.0-gke.425', old: m('v1.16.3'), new: m('v1.16.5'), expected: [] },
    { name: 'MD: CP version without a date', cpVersion: 'v1.28.1', old: m('v1.16.3'), new: m('v1.16.4'), expected: [] },
    { name: 'MD: already later, label only (ratchet)', cpVersion: 'v1.28.0-gke.425', old: m('v1.16.4'), new: touch(m('v1.16.4')), expected: [] },
  ])('$name', ({ cpVersion, old, new: next, expected }) => {
    const v = view([cluster(), cp(cpVersion)])
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), v, DATES)).toEqual(expected)
  })

  it.each([
    { name: 'KCP: upgrade to 1.28.0-gke.425 leaving a pool at 1.16.4 (GKE example)', target: 'v1.28.0-gke.425', pools: ['v1.16.4', 'v1.16.3'], expected: ['spec.version'] },
    { name: 'KCP: upgrade to 1.28.100-gke.146 with a pool at 1.16.4', target: 'v1.28.100-gke.146', pools: ['v1.16.4'], expected: [] },
    { name: 'KCP: target without a date', target: 'v1.28.1', pools: ['v1.16.4'], expected: [] },
  ])('$name', ({ target, pools, expected }) => {
    const old = cp('v1.16.3')
    const v = view([cluster(), old, ...pools.map((p, i) => m(p, `pool-${i}`))])
    const next = kcp({ level, version: target, statusVersion: 'v1.16.3' })
    expect(deniedFields(RULE, request('UPDATE', old, next), v, DATES)).toEqual(expected)
  })

  it('no release dates: a no-op', () => {
    const v = view([cluster(), cp('v1.28.0-gke.425')])
    expect(deniedFields(RULE, request('UPDATE', m('v1.16.3'), m('v1.16.4')), v)).toEqual([])
  })
})

describe('messages', () => {
  it('MD: names both versions and dates', () => {
    const [v] = check(releaseOrder, { old: md({ version: 'v1.16.3' }), next: md({ version: 'v1.16.4' }), view: view([cluster(), kcp({ version: 'v1.28.0-gke.425' })]), policy: policy(DATES) })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'Forbidden' })
    expect(v?.message).toContain('v1.16.4 (released 2024-01-10) was released after the control plane\'s v1.28.0-gke.425 (2023-12-05)')
    expect(v?.hint).toContain('upgrade the control plane first')
  })

  it('KCP: names the MDs with their versions and dates', () => {
    const old = kcp({ version: 'v1.16.3' })
    const [v] = check(releaseOrder, { old, next: kcp({ version: 'v1.28.0-gke.425' }), view: view([cluster(), old, md({ name: 'pool-a', version: 'v1.16.4' })]), policy: policy(DATES) })
    expect(v?.message).toContain('pool-a (v1.16.4, released 2024-01-10)')
  })

  it('MD: control plane missing from the view fails closed (when dates exist)', () => {
    const [v] = check(releaseOrder, { next: md({ version: 'v1.16.4' }), view: view([cluster()]), policy: policy(DATES) })
    expect(v).toMatchObject({ type: 'NotFound' })
    expect(check(releaseOrder, { next: md({ version: 'v1.16.4' }), view: view([cluster()]), policy: only(RULE, { ...DATES, state: { onUnavailable: 'allow' } }) })).toEqual([])
  })
})
