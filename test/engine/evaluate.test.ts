/**
 * The engine: scope, subresources, unreadable requests, fail-closed state, ratcheting, bypass.
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import {
  ADMIN,
  BYPASS,
  BYPASS_REASON,
  CAPI_CONTROLLER,
  catalog,
  cluster,
  edit,
  found,
  KCP_NAME,
  kcp,
  MD_NAME,
  md,
  NS,
  outcome,
  policy,
  request,
  scaleRequest,
  touch,
  view,
  withAnnotations,
  world,
  type Obj,
} from '../helpers/objects.js'

const DEFAULT = policy()

/** A KCP that breaks nearly every rule at once: surge 1, 1 replica, version skips two minors and is no catalog key. */
const broken = (level: 'v1beta1' | 'v1beta2' = 'v1beta1', extra: Parameters<typeof kcp>[0] = {}): Obj =>
  kcp({ level, maxSurge: 1, replicas: 1, version: 'v1.35.9', statusVersion: 'v1.33.7-2', ...extra })

describe('scope', () => {
  it.each([
    { name: 'KCP of another infrastructure (Metal3)', obj: kcp({ infraKind: 'Metal3MachineTemplate', maxSurge: 1, version: 'v1.99.0' }), skipped: 'not-bare-metal' },
    { name: 'v1beta2 MD of another infrastructure (Docker)', obj: md({ level: 'v1beta2', infraKind: 'DockerMachineTemplate', maxSurge: 1, maxUnavailable: 0 }), skipped: 'not-bare-metal' },
    { name: 'MD with no infrastructureRef kind', obj: edit(md(), (o) => delete (((o.spec as Obj).template as Obj).spec as Obj).infrastructureRef), skipped: 'not-bare-metal' },
    { name: 'a Deployment', obj: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: NS } }, skipped: 'not-guarded' },
    { name: 'another ConfigMap in the catalog namespace', obj: catalog({ '1.0': 'x' }, { name: 'kube-root-ca.crt' }), skipped: 'other-configmap' },
    { name: 'a same-named catalog in another namespace', obj: catalog({ '1.0': 'x' }, { namespace: 'default' }), skipped: 'other-configmap' },
  ])('CREATE $name: allowed untouched', ({ obj, skipped }) => {
    const d = evaluate(request('CREATE', null, obj), world(), DEFAULT)
    expect(d).toMatchObject({ allowed: true, skipped, denied: [], evaluated: [] })
  })

  it('UPDATE of a non-bare-metal KCP that skips minors: allowed untouched', () => {
    const old = kcp({ infraKind: 'Metal3MachineTemplate', version: 'v1.32.8' })
    const d = evaluate(request('UPDATE', old, kcp({ infraKind: 'Metal3MachineTemplate', version: 'v1.35.0', maxSurge: 1 })), world(), DEFAULT)
    expect(d).toMatchObject({ allowed: true, skipped: 'not-bare-metal' })
  })

  it('moving a KCP off bare metal is still judged (old object is bare metal)', () => {
    const old = kcp()
    const d = evaluate(request('UPDATE', old, kcp({ infraKind: 'Metal3MachineTemplate', maxSurge: 1 })), world(), DEFAULT)
    expect(d.skipped).toBeUndefined()
    expect(d.evaluated).toContain('max-surge-zero')
  })

  it('DELETE of another ConfigMap (object null) is skipped', () => {
    const d = evaluate(request('DELETE', catalog({}, { name: 'other' }), null), world(), DEFAULT)
    expect(d).toMatchObject({ allowed: true, skipped: 'other-configmap' })
  })

  it.each([
    { name: 'KCP', obj: broken() },
    { name: 'MD', obj: md({ maxSurge: 1, version: 'v1.99.0' }) },
    { name: 'catalog', obj: catalog({ '1.0': 'bad' }) },
  ])('exempt namespace: $name skipped', ({ obj }) => {
    const d = evaluate(request('CREATE', null, obj), world(), policy({ scope: { exemptNamespaces: [NS] } }))
    expect(d).toMatchObject({ allowed: true, skipped: 'exempt-namespace' })
  })

  it('a policy with another infrastructure kind puts that kind in scope', () => {
    const p = policy({ scope: { infrastructureKinds: ['Metal3MachineTemplate'] } })
    expect(evaluate(request('CREATE', null, kcp({ infraKind: 'Metal3MachineTemplate', maxSurge: 1 })), world(), p).allowed).toBe(false)
    expect(evaluate(request('CREATE', null, kcp({ maxSurge: 1 })), world(), p).skipped).toBe('not-bare-metal')
  })

  it('the decision names its target', () => {
    const d = evaluate(request('CREATE', null, md({ level: 'v1beta2' })), world(), DEFAULT)
    expect(d.target).toEqual({ kind: 'MachineDeployment', namespace: NS, name: MD_NAME })
    expect(d.allowed).toBe(true)
  })
})

describe('DELETE of a KCP or MD is never denied', () => {
  it.each([
    { name: 'broken KCP', obj: broken() },
    { name: 'v1beta2 KCP', obj: broken('v1beta2') },
    { name: 'MD', obj: md({ maxSurge: 1 }) },
    { name: 'MD with a bypass annotation', obj: md({ annotations: { [BYPASS]: 'max-surge-zero' } }) },
  ])('$name', ({ obj }) => {
    const v = world()
    v.setStatus({ available: false, reason: 'informers not synced' })
    const d = evaluate(request('DELETE', obj, null, CAPI_CONTROLLER), v, DEFAULT)
    expect(d).toMatchObject({ allowed: true, skipped: 'delete' })
  })
})

describe('subresources', () => {
  it('status is skipped', () => {
    const old = kcp()
    const d = evaluate(request('UPDATE', old, edit(broken(), (o) => (o.status = { version: 'garbage' })), CAPI_CONTROLLER, { subResource: 'status' }), world(), DEFAULT)
    expect(d).toMatchObject({ allowed: true, skipped: 'status-subresource' })
  })

  it.each([
    { name: 'v1beta1 KCP 3 → 1', level: 'v1beta1', from: 3, to: 1, denied: ['max-surge-zero@spec.replicas'] },
    { name: 'v1beta2 KCP 3 → 1', level: 'v1beta2', from: 3, to: 1, denied: ['max-surge-zero@spec.replicas'] },
    { name: 'KCP 3 → 2', level: 'v1beta1', from: 3, to: 2, denied: ['max-surge-zero@spec.replicas'] },
    { name: 'KCP 3 → 5', level: 'v1beta1', from: 3, to: 5, denied: [] },
    { name: 'KCP 5 → 3', level: 'v1beta2', from: 5, to: 3, denied: [] },
  ] as const)('KCP scale: $name', ({ level, from, to, denied }) => {
    const v = view([cluster(), catalog(), kcp({ level, replicas: from, statusVersion: 'v1.33.7-2' })])
    const d = evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, from, to), v, DEFAULT)
    expect(found(d.denied)).toEqual(denied)
  })

  it('KCP scale of a legacy 1-replica maxSurge-1 KCP to 3 is denied on maxSurge (fix both with one edit)', () => {
    const v = view([cluster(), catalog(), kcp({ replicas: 1, maxSurge: 1 })])
    const d = evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 1, 3), v, DEFAULT)
    expect(found(d.denied)).toEqual(['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge'])
  })

  it('KCP scale denial says the control plane needs 3', () => {
    const d = evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 3, 1), world(), DEFAULT)
    expect(d.denied[0]?.message).toContain('must be scaled to 3')
  })

  it('KCP scale of a non-bare-metal KCP is skipped', () => {
    const v = view([kcp({ infraKind: 'Metal3MachineTemplate' })])
    expect(evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 3, 1), v, DEFAULT)).toMatchObject({ allowed: true, skipped: 'not-bare-metal' })
  })

  it('KCP scale of a KCP the view lacks fails closed, or open with onUnavailable: allow', () => {
    const d = evaluate(scaleRequest('kubeadmcontrolplanes', 'unknown-cp', 3, 1), world(), DEFAULT)
    expect(found(d.denied)).toEqual(['max-surge-zero@spec.replicas'])
    expect(d.denied[0]?.message).toContain('KubeadmControlPlane cpaas-system/unknown-cp is not in the cluster-state view')
    expect(evaluate(scaleRequest('kubeadmcontrolplanes', 'unknown-cp', 3, 1), world(), policy({ state: { onUnavailable: 'allow' } })).allowed).toBe(true)
  })

  it('KCP scale while the view is unavailable fails closed with the reason', () => {
    const v = world()
    v.setStatus({ available: false, reason: 'x' })
    const d = evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 3, 5), v, DEFAULT)
    expect(d.allowed).toBe(false)
    expect(d.denied[0]?.message).toContain('the cluster-state view is unavailable (x)')
  })

  it('MD scale is skipped (scaling an MD does not surge)', () => {
    const v = view([md({ maxSurge: 1, maxUnavailable: 0 })])
    expect(evaluate(scaleRequest('machinedeployments', MD_NAME, 3, 1), v, DEFAULT)).toMatchObject({ allowed: true, skipped: 'scale-of-machinedeployment' })
  })
})

describe('unreadable requests (rule "request")', () => {
  const MD_KIND = { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' }
  const NO_KIND = { group: '', version: '', kind: '' }
  it.each([
    { name: 'KCP v1alpha4', obj: { ...kcp(), apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha4' }, kind: undefined, field: 'apiVersion', value: 'controlplane.cluster.x-k8s.io/v1alpha4', text: 'is not a served version of' },
    // Routed as an MD (request.kind), the object claims another group: refused, never skipped.
    { name: 'MD in the wrong group', obj: { ...md(), apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1' }, kind: MD_KIND, field: 'object.apiVersion', value: 'controlplane.cluster.x-k8s.io/v1beta1', text: 'but the API server routed this request as cluster.x-k8s.io/v1beta1' },
    // Routed only by resource (no request.kind): the kind is filled in, no apiVersion says how to read it.
    { name: 'KCP without apiVersion', obj: edit(kcp(), (o) => delete o.apiVersion), kind: NO_KIND, field: 'apiVersion', value: 'undefined', text: 'is not a served version of' },
  ])('$name → denied', ({ obj, kind, field, value, text }) => {
    const d = evaluate(request('CREATE', null, obj, ADMIN, kind === undefined ? {} : { kind }), world(), DEFAULT)
    expect(d.allowed).toBe(false)
    expect(d.denied).toHaveLength(1)
    expect(d.denied[0]).toMatchObject({ rule: 'request', field, type: 'Invalid' })
    expect(d.denied[0]?.value).toBe(value)
    expect(d.denied[0]?.message).toContain(text)
  })

  it('UPDATE without the object → denied', () => {
    const d = evaluate({ ...request('UPDATE', kcp(), kcp()), object: null }, world(), DEFAULT)
    expect(found(d.denied)).toEqual(['request@object'])
  })

  it('a "request" denial is not turned off by any rule action', () => {
    const p = policy({ rules: Object.fromEntries(['max-surge-zero', 'catalog-key'].map((r) => [r, 'off'])) })
    expect(evaluate(request('CREATE', null, { ...kcp(), apiVersion: 'controlplane.cluster.x-k8s.io/v1' }), world(), p).allowed).toBe(false)
  })
})

describe('state unavailable', () => {
  const unavailable = () => {
    const v = world()
    v.setStatus({ available: false, reason: 'x' })
    return v
  }

  it('fails closed for rules that need state, saying why', () => {
    const d = evaluate(request('UPDATE', kcp(), kcp({ version: 'v1.33.7-3', statusVersion: 'v1.33.7-2' })), unavailable(), DEFAULT)
    expect(d.allowed).toBe(false)
    // release-order has no release dates in the default policy, so nothing to fail closed on.
    // One finding for the three rules that could not run: the reason is said once.
    expect(found(d.denied)).toEqual(['catalog-key@(state)'])
    for (const v of d.denied) {
      expect(v.type).toBe('NotFound')
      expect(v.message).toBe('cannot check catalog-key, worker-skew, registry-address, management-ready, management-version, control-plane-healthy, pool-capacity: the cluster-state view is unavailable (x)')
      expect(v.hint).toContain('state.onUnavailable: allow')
    }
  })

  it('rules that need no state still judge (max-surge-zero, control-plane-minor-step)', () => {
    const d = evaluate(request('UPDATE', kcp({ version: 'v1.32.8' }), kcp({ version: 'v1.34.5', maxSurge: 1 })), unavailable(), policy({ state: { onUnavailable: 'allow' } }))
    expect(found(d.denied)).toEqual(['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge', 'control-plane-minor-step@spec.version'])
  })

  it('a catalog edit that only adds keys needs no state; removing one fails closed', () => {
    const before = catalog(['v1.33.7-2'])
    const added = evaluate(request('UPDATE', before, catalog(['v1.33.7-2', 'v1.34.5-3'])), unavailable(), DEFAULT)
    expect(added.allowed).toBe(true)
    const removed = evaluate(request('UPDATE', before, catalog([])), unavailable(), DEFAULT)
    expect(found(removed.denied)).toEqual(['catalog-in-use@(state)'])
  })

  it('fails open with state.onUnavailable: allow', () => {
    const d = evaluate(request('UPDATE', kcp(), kcp({ version: 'v1.33.7-3', statusVersion: 'v1.33.7-2' })), unavailable(), policy({ state: { onUnavailable: 'allow' } }))
    expect(outcome(d)).toMatchObject({ allowed: true, denied: [] })
  })

  it('a ratcheted update (finalizer only) is allowed even then', () => {
    const obj = kcp({ statusVersion: 'v1.33.7-2' })
    expect(evaluate(request('UPDATE', obj, touch(obj), CAPI_CONTROLLER), unavailable(), DEFAULT).allowed).toBe(true)
  })

  it('a rule turned off does not fail closed', () => {
    const p = policy({ rules: { 'catalog-key': 'off', 'worker-skew': 'off', 'release-order': 'off', 'registry-address': 'off', 'management-ready': 'off', 'management-version': 'off', 'control-plane-healthy': 'off', 'pool-capacity': 'off' } })
    expect(evaluate(request('UPDATE', kcp(), kcp({ version: 'v1.33.7-3' })), unavailable(), p).allowed).toBe(true)
  })
})

describe('ratcheting through evaluate', () => {
  it.each([
    { name: 'v1beta1 KCP', obj: broken('v1beta1') },
    { name: 'v1beta2 KCP', obj: broken('v1beta2') },
    { name: 'v1beta1 MD', obj: md({ maxSurge: 1, maxUnavailable: 0, version: 'v1.99.0' }) },
    { name: 'v1beta2 MD', obj: md({ level: 'v1beta2', maxSurge: '50%', maxUnavailable: 0, version: '1.30.0' }) },
  ])('$name that breaks the rules: a controller adding a finalizer and a label is allowed', ({ obj }) => {
    const d = evaluate(request('UPDATE', obj, touch(obj), CAPI_CONTROLLER), world(), DEFAULT)
    expect(outcome(d)).toEqual({ allowed: true, denied: [], warnings: [], audited: [], bypassed: [] })
  })

  it('the same object on CREATE is denied', () => {
    expect(evaluate(request('CREATE', null, broken()), world(), DEFAULT).allowed).toBe(false)
  })
})

describe('bypass', () => {
  const p = policy({ bypass: { users: ['alice'], groups: ['platform-admins'] } })
  const bypassing = (rules: string, reason?: string): Obj =>
    withAnnotations(kcp({ maxSurge: 1, statusVersion: 'v1.33.7-2' }), { [BYPASS]: rules, ...(reason === undefined ? {} : { [BYPASS_REASON]: reason }) })

  it('an authorised user skips the named rule; it is recorded in bypassed', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42: pool has one spare host'), { username: 'alice' }), world(), p)
    expect(d.allowed).toBe(true)
    expect(found(d.bypassed)).toEqual(['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge'])
    expect(d.denied).toEqual([])
  })

  it('users are matched by exact name', () => {
    expect(evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42'), { username: 'alice', groups: [] }), world(), p).allowed).toBe(true)
    expect(evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42'), { username: 'Alice', groups: [] }), world(), p).allowed).toBe(false)
  })

  it('an authorised group is enough', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42'), { username: 'bob', groups: ['system:authenticated', 'platform-admins'] }), world(), p)
    expect(d.allowed).toBe(true)
    expect(found(d.bypassed)).toEqual(['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge'])
  })

  it('only the named rules are skipped', () => {
    const obj = withAnnotations(kcp({ maxSurge: 1, version: 'v1.33.9' }), { [BYPASS]: 'max-surge-zero', [BYPASS_REASON]: 'INC-42' })
    const d = evaluate(request('CREATE', null, obj, { username: 'alice' }), world(), p)
    expect(found(d.bypassed)).toEqual(['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge'])
    expect(found(d.denied)).toEqual(['catalog-key@spec.version'])
  })

  it('several rules, spaces tolerated', () => {
    const obj = withAnnotations(kcp({ maxSurge: 1, version: 'v1.33.9' }), { [BYPASS]: ' max-surge-zero , catalog-key ', [BYPASS_REASON]: 'INC-42' })
    const d = evaluate(request('CREATE', null, obj, { username: 'alice' }), world(), p)
    expect(d.allowed).toBe(true)
    expect(d.bypassed.map((v) => v.rule)).toEqual(['max-surge-zero', 'catalog-key'])
  })

  it('an unauthorised user is denied with rule "bypass", saying who may bypass', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42'), { username: 'mallory', groups: ['dev'] }), world(), p)
    expect(d.allowed).toBe(false)
    expect(d.bypassed).toEqual([])
    const [b] = d.denied
    expect(b).toMatchObject({ rule: 'bypass', field: `metadata.annotations[${BYPASS}]`, type: 'Forbidden' })
    expect(b?.message).toContain('user "mallory" may not bypass max-surge-zero')
    expect(b?.message).toContain('only users alice and groups platform-admins may bypass')
    expect(found(d.denied)).toContain('max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge')
  })

  it('under the default policy nobody may bypass, and the message says so', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42')), world(), DEFAULT)
    expect(d.denied[0]?.message).toContain('nobody may bypass under this policy')
  })

  it('a bypass without a reason is denied', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero'), { username: 'alice' }), world(), p)
    expect(d.allowed).toBe(false)
    expect(d.bypassed).toEqual([])
    expect(d.denied[0]).toMatchObject({ rule: 'bypass', field: `metadata.annotations[${BYPASS_REASON}]`, type: 'Required' })
  })

  it('a blank reason counts as none', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', '   '), { username: 'alice' }), world(), p)
    expect(found(d.denied)).toContain(`bypass@metadata.annotations[${BYPASS_REASON}]`)
  })

  it('unknown rule ids are denied, listing the real ones', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero,max-surge', 'INC-42'), { username: 'alice' }), world(), p)
    expect(d.denied[0]).toMatchObject({ rule: 'bypass', type: 'Invalid' })
    expect(d.denied[0]?.message).toContain('unknown rule id(s): max-surge')
    expect(d.denied[0]?.hint).toContain('catalog-key')
  })

  it('a "bypass" denial cannot itself be bypassed', () => {
    const d = evaluate(request('CREATE', null, bypassing('max-surge-zero', 'INC-42'), { username: 'mallory' }), world(), policy({ rules: { 'max-surge-zero': 'warn' }, bypass: { users: ['alice'] } }))
    expect(found(d.denied)).toEqual([`bypass@metadata.annotations[${BYPASS}]`])
  })

  it('annotation left on the object: a later controller update with nothing to bypass is allowed (no deadlock)', () => {
    const stored = bypassing('max-surge-zero', 'INC-42')
    const d = evaluate(request('UPDATE', stored, touch(stored), CAPI_CONTROLLER), world(), p)
    expect(outcome(d)).toEqual({ allowed: true, denied: [], warnings: [], audited: [], bypassed: [] })
  })

  it('annotation left on the object: a controller status-driven label change on a v1beta2 KCP is allowed', () => {
    const stored = withAnnotations(kcp({ level: 'v1beta2', replicas: 1 }), { [BYPASS]: 'max-surge-zero', [BYPASS_REASON]: 'single-node lab' })
    const d = evaluate(request('UPDATE', stored, touch(stored), CAPI_CONTROLLER), world(), p)
    expect(d.allowed).toBe(true)
  })

  it('annotation left on the object: an unauthorised user whose change needs it is denied', () => {
    const stored = bypassing('max-surge-zero', 'INC-42')
    const next = edit(stored, (o) => ((o.spec as Obj).version = 'v1.33.7-3'))
    const d = evaluate(request('UPDATE', stored, next, { username: 'mallory' }), world(), p)
    expect(d.allowed).toBe(false)
    expect(d.denied.map((v) => v.rule)).toContain('bypass')
  })

  it('an unauthorised user adding the annotation is denied even with nothing to bypass', () => {
    const obj = withAnnotations(kcp(), { [BYPASS]: 'catalog-key', [BYPASS_REASON]: 'just in case' })
    const d = evaluate(request('UPDATE', kcp(), obj, { username: 'mallory' }), world(), p)
    expect(found(d.denied)).toEqual([`bypass@metadata.annotations[${BYPASS}]`])
  })

  it('the bypass annotation on a KCP is honoured on its /scale subresource for an authorised user', () => {
    const stored = withAnnotations(kcp(), { [BYPASS]: 'max-surge-zero', [BYPASS_REASON]: 'lab' })
    const v = view([cluster(), catalog(), stored])
    expect(evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 3, 1, { username: 'alice' }), v, p).allowed).toBe(true)
    expect(evaluate(scaleRequest('kubeadmcontrolplanes', KCP_NAME, 3, 1, ADMIN), v, p).allowed).toBe(false)
  })
})
