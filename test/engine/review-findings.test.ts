/**
 * Regressions for findings of an independent review against SPEC.md (one test per finding).
 */
import { describe, expect, it } from 'vitest'
import { mutate } from '../../src/admission/patch.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { MemoryView } from '../../src/state/memory-view.js'
import { ADMIN, BYPASS, BYPASS_REASON, CAPI_CONTROLLER, catalog, cluster, found, kcp, md, policy, request, scaleRequest, touch, view, withAnnotations, withStatusVersion, world } from '../helpers/objects.js'

const admins = policy({ bypass: { users: [ADMIN.username] } })

describe('review findings', () => {
  it('a bad version is reported once (under catalog-key) while that denial stands', () => {
    const d = evaluate(request('UPDATE', md({ version: 'v1.32.8' }), md({ version: '1.33.7-2' })), world(), DEFAULT_POLICY)
    expect(found(d.denied)).toEqual(['catalog-key@spec.template.spec.version'])
  })

  it('bypassing catalog-key does not switch off the other version rules for a bad version', () => {
    const next = withAnnotations(md({ version: 'v1.29.0-x+y' }), { [BYPASS]: 'catalog-key', [BYPASS_REASON]: 'emergency build' })
    const d = evaluate(request('UPDATE', md({ version: 'v1.32.8' }), next), world(), admins)
    expect(d.allowed).toBe(false)
    expect(d.bypassed.map((v) => v.rule)).toEqual(['catalog-key'])
    expect(d.denied.map((v) => v.rule)).toContain('no-downgrade')
  })

  it('a leftover bypass naming a warn-only rule does not block another user\'s allowed edit', () => {
    const old = withAnnotations(kcp({ version: 'v1.32.8', statusVersion: 'v1.32.8' }), { [BYPASS]: 'pinned-component-tags', [BYPASS_REASON]: 'old' })
    const next = withAnnotations(kcp({ version: 'v1.33.7-2', statusVersion: 'v1.32.8' }), { [BYPASS]: 'pinned-component-tags', [BYPASS_REASON]: 'old' })
    const alice = { username: 'alice', groups: ['platform'] }
    const d = evaluate(request('UPDATE', old, next, alice), world({ md: { version: 'v1.32.8' } }), DEFAULT_POLICY)
    expect(d.allowed).toBe(true)
    expect(d.warnings.map((v) => v.rule)).toContain('pinned-component-tags')
  })

  it('a new KCP without the cluster-name label is tied to its Cluster through spec.controlPlaneRef', () => {
    const v = view([catalog(), cluster({ annotations: { 'cpaas.io/registry-address': 'r:1' } }), md({ version: 'v1.32.8' })])
    const d = evaluate(request('CREATE', null, kcp({ version: 'v1.32.8', cluster: null })), v, DEFAULT_POLICY)
    expect(found(d.denied)).toEqual([])
  })

  it('a /scale the view cannot judge follows the rule\'s action (audit allows)', () => {
    const unavailable = new MemoryView(DEFAULT_POLICY.catalog, { available: false, reason: 'x' })
    const req = scaleRequest('kubeadmcontrolplanes', 'bm-workload-control-plane', 3, 5)
    expect(evaluate(req, unavailable, DEFAULT_POLICY).allowed).toBe(false)
    const d = evaluate(req, unavailable, policy({ rules: { 'max-surge-zero': 'audit' } }))
    expect(d.allowed).toBe(true)
    expect(d.audited.map((v) => v.rule)).toEqual(['max-surge-zero'])
  })

  it('KCP replicas that are not an integer are invalid, not skipped', () => {
    const d = evaluate(request('CREATE', null, kcp({ version: 'v1.32.8', replicas: '1' as unknown as number })), world(), DEFAULT_POLICY)
    expect(found(d.denied)).toContain('max-surge-zero@spec.replicas')
  })

  it('the mutating webhook leaves a controller\'s metadata-only UPDATE alone (no deadlock)', () => {
    const stored = withStatusVersion(kcp({ version: 'v1.32.8', maxSurge: null, replicas: 1 }), 'v1.32.8')
    const m = mutate({ operation: 'UPDATE', object: touch(stored), oldObject: stored }, DEFAULT_POLICY)
    expect(m.patch).toEqual([])
    // ...while a real spec change still gets the safe default
    const changed = kcp({ version: 'v1.33.7-2', maxSurge: null, replicas: 3 })
    expect(mutate({ operation: 'UPDATE', object: changed, oldObject: stored }, DEFAULT_POLICY).patch).toHaveLength(1)
    void CAPI_CONTROLLER
  })
})

describe('requests without objects', () => {
  const bare = (resource: string, operation: 'CREATE' | 'UPDATE' | 'DELETE', name = 'x', namespace = 'cpaas-system') => ({ operation, kind: { group: '', version: '', kind: '' }, resource, namespace, name, object: null, oldObject: null, userInfo: ADMIN })
  it.each([
    { name: 'KCP CREATE', req: bare('kubeadmcontrolplanes', 'CREATE'), allowed: false },
    { name: 'MD UPDATE', req: bare('machinedeployments', 'UPDATE'), allowed: false },
    { name: 'catalog DELETE', req: bare('configmaps', 'DELETE', 'elemental-image-catalog'), allowed: false },
    { name: 'KCP DELETE (never denied)', req: bare('kubeadmcontrolplanes', 'DELETE'), allowed: true },
    { name: 'another ConfigMap', req: bare('configmaps', 'UPDATE', 'other'), allowed: true },
  ] as const)('$name with neither object nor oldObject', ({ req, allowed }) => {
    const d = evaluate(req, world(), DEFAULT_POLICY)
    expect(d.allowed).toBe(allowed)
    if (!allowed) expect(d.denied.map((v) => v.rule)).toEqual(['request'])
  })
})
