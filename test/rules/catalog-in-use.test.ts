/**
 * catalog-in-use: a catalog edit may not remove a key an in-scope KCP (spec or status version) or
 * MD uses; the catalog may not be deleted while in use.
 * ACP: the provider "resolves the new Kubernetes version against elemental-image-catalog" for
 * every replacement Machine.
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { catalogInUse } from '../../src/rules/catalog-in-use.js'
import { catalog, check, cluster, deniedFields, kcp, md, only, REFERENCE_KEYS, request, touch, view } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'catalog-in-use'
const without = (...keys: string[]): string[] => REFERENCE_KEYS.filter((k) => !keys.includes(k))

/** KCP mid-rollout v1.32.8 → v1.33.7-2; workers on v1.32.7; a non-bare-metal KCP on v1.34.5. */
const state = (level: ApiLevel) =>
  view([
    cluster(),
    catalog(),
    kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.32.8' }),
    md({ level, version: 'v1.32.7' }),
    kcp({ level, name: 'docker-control-plane', cluster: 'docker', version: 'v1.34.5', infraKind: 'DockerMachineTemplate' }),
  ])

describe.each(LEVELS)('users in %s', (level) => {
  it.each([
    { name: 'remove an unused key', old: catalog(), new: catalog(without('v1.35.6-acp.1')), expected: [] },
    { name: 'add a key', old: catalog(), new: catalog([...REFERENCE_KEYS, 'v1.34.6']), expected: [] },
    { name: 'change an unused value', old: catalog(), new: catalog({ ...Object.fromEntries(REFERENCE_KEYS.map((k) => [k, `r.example.com/b:${k}`])) }), expected: [] },
    { name: 'remove the KCP spec version', old: catalog(), new: catalog(without('v1.33.7-2')), expected: ['data[v1.33.7-2]'] },
    { name: 'remove the KCP status version (machines still run it)', old: catalog(), new: catalog(without('v1.32.8')), expected: ['data[v1.32.8]'] },
    { name: 'remove the MD version', old: catalog(), new: catalog(without('v1.32.7')), expected: ['data[v1.32.7]'] },
    { name: 'remove three used keys', old: catalog(), new: catalog(without('v1.32.7', 'v1.32.8', 'v1.33.7-2')), expected: ['data[v1.32.7]', 'data[v1.32.8]', 'data[v1.33.7-2]'] },
    { name: 'remove a key only a non-bare-metal KCP uses', old: catalog(), new: catalog(without('v1.34.5')), expected: [] },
    { name: 'metadata-only update', old: catalog(), new: touch(catalog()), expected: [] },
  ])('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request('UPDATE', old, next), state(level))).toEqual(expected)
  })

  it.each([
    { name: 'DELETE while in use', v: state(level), expected: ['metadata.name'] },
    { name: 'DELETE when nothing uses it', v: view([catalog()]), expected: [] },
  ])('$name', ({ v, expected }) => {
    expect(deniedFields(RULE, request('DELETE', catalog(), null), v)).toEqual(expected)
  })
})

describe('messages', () => {
  it('names the users and the reason', () => {
    const [v] = check(catalogInUse, { old: catalog(), next: catalog(without('v1.32.8')), view: state('v1beta2') })
    expect(v).toMatchObject({ rule: RULE, field: 'data[v1.32.8]', type: 'Forbidden' })
    expect(v?.message).toContain('cannot remove key v1.32.8')
    expect(v?.message).toContain('KubeadmControlPlane cpaas-system/bm-workload-control-plane')
    expect(v?.hint).toContain('before removing v1.32.8')
  })

  it('DELETE says the catalog cannot be deleted', () => {
    const vs = check(catalogInUse, { old: catalog(), view: state('v1beta1') })
    expect(vs.length).toBe(1)
    expect(vs[0]?.message).toMatch(/^cannot delete the catalog while bare-metal objects resolve images from it: /)
    expect(vs[0]?.message).toContain('MachineDeployment cpaas-system/bm-workload-workers')
  })

  it('DELETE is denied even when no user\'s version is a key any more (every replacement would fail)', () => {
    const vs = check(catalogInUse, { old: catalog(['v1.35.6-acp.1']), view: state('v1beta1') })
    expect(vs.map((v) => v.field)).toEqual(['metadata.name'])
  })

  it('DELETE ignores objects that are not bare metal', () => {
    const aws = md({ name: 'aws-pool', version: 'v1.32.7', infraKind: 'AWSMachineTemplate' })
    expect(check(catalogInUse, { old: catalog(), view: view([catalog(), aws]) })).toEqual([])
  })

  it('lists at most five users, then a count', () => {
    const many = Array.from({ length: 7 }, (_, i) => md({ name: `pool-${i}`, version: 'v1.32.7' }))
    const [v] = check(catalogInUse, { old: catalog(), next: catalog(without('v1.32.7')), view: view([catalog(), ...many]) })
    expect(v?.message).toContain('and 2 more')
  })
})

describe('fail closed', () => {
  it('state unavailable: a key removal is denied, with the reason', () => {
    const v = state('v1beta1')
    v.setStatus({ available: false, reason: 'informers not synced' })
    const d = evaluate(request('UPDATE', catalog(), catalog(without('v1.35.6-acp.1'))), v, only(RULE))
    expect(d.denied.map((x) => `${x.rule}@${x.field}`)).toEqual(['catalog-in-use@(state)'])
    expect(d.denied[0]?.message).toContain('informers not synced')
  })

  it('state unavailable with state.onUnavailable: allow', () => {
    const v = state('v1beta1')
    v.setStatus({ available: false, reason: 'x' })
    const d = evaluate(request('UPDATE', catalog(), catalog(without('v1.32.8'))), v, only(RULE, { state: { onUnavailable: 'allow' } }))
    expect(d.allowed).toBe(true)
  })
})
