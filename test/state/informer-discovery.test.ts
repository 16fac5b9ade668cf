/**
 * Which CAPI version the caches use: v1beta2 when served, else v1beta1.
 */
import type { V1APIGroupList } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { levelFromGroupList, pickApiLevel } from '../../src/state/discovery.js'

const groups = (served: Record<string, string[]>): V1APIGroupList => ({
  groups: Object.entries(served).map(([name, versions]) => ({ name, versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })) })),
})

describe('pickApiLevel', () => {
  it.each([
    { served: ['v1beta1'], expected: 'v1beta1' },
    { served: ['v1beta1', 'v1beta2'], expected: 'v1beta2' },
    { served: ['v1beta2'], expected: 'v1beta2' },
    { served: ['v1alpha4', 'v1beta1'], expected: 'v1beta1' },
    { served: ['v1alpha4'], expected: undefined },
    { served: [], expected: undefined },
  ])('$served → $expected', ({ served, expected }) => expect(pickApiLevel(served)).toBe(expected))
})

describe('levelFromGroupList', () => {
  it.each<{ name: string; served: Record<string, string[]>; expected: unknown }>([
    { name: 'served', served: { 'cluster.x-k8s.io': ['v1beta1', 'v1beta2'] }, expected: { ok: true, level: 'v1beta2' } },
    { name: 'CRDs not installed', served: { apps: ['v1'] }, expected: { ok: false, reason: 'API group cluster.x-k8s.io is not served (are the Cluster API CRDs installed?)' } },
    { name: 'only unknown versions', served: { 'cluster.x-k8s.io': ['v1alpha3', 'v1alpha4'] }, expected: { ok: false, reason: 'API group cluster.x-k8s.io serves v1alpha3, v1alpha4, none of v1beta1, v1beta2' } },
  ])('$name', ({ served, expected }) => expect(levelFromGroupList(groups(served), 'cluster.x-k8s.io')).toEqual(expected))
})
