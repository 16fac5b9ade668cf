/**
 * Decision integrity (SPEC Round 2 "Whose object is this?", "Request identity", "Messages"):
 * an edit cannot bend which Cluster / control plane / MDs it is judged against, one unreadable
 * running version never switches a check off, the kind judged is the one the API server routed,
 * and messages are honest (clipped user text, one warning per rule, possible hints, every
 * deliberate change announced). Allow AND deny rows, both CAPI API versions, CREATE and UPDATE.
 */
import { describe, expect, it } from 'vitest'
import { mutate } from '../../src/admission/patch.js'
import { review, warningTexts } from '../../src/admission/review.js'
import type { EngineRequest } from '../../src/engine/decision.js'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { controlPlaneOf, membershipsOf } from '../../src/objects/links.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { clip, formatViolation } from '../../src/rules/field-path.js'
import type { Violation } from '../../src/rules/types.js'
import type { MemoryView } from '../../src/state/memory-view.js'
import {
  ADMIN,
  BYPASS,
  BYPASS_REASON,
  catalog,
  cluster,
  edit,
  guarded,
  KCP_NAME,
  kcp,
  md,
  NS,
  policy,
  REGISTRY_ANNOTATION,
  request,
  scale,
  SKEW_ANNOTATION,
  TAGS,
  view,
  withAnnotations,
  type Obj,
} from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const LABEL = 'cluster.x-k8s.io/cluster-name'
const REGISTRY = { [REGISTRY_ANNOTATION]: 'registry.example.com:11443' }

const deniedRules = (req: EngineRequest, v: MemoryView, p = DEFAULT_POLICY): string[] => [...new Set(evaluate(req, v, p).denied.map((x) => x.rule))]

function relabel(obj: Obj, clusterName: string | null): Obj {
  return edit(obj, (o) => {
    const meta = o.metadata as Obj
    const labels = { ...(meta.labels as Record<string, string>) }
    if (clusterName === null) delete labels[LABEL]
    else labels[LABEL] = clusterName
    meta.labels = labels
  })
}

function owned(obj: Obj, clusterName: string): Obj {
  return edit(relabel(obj, null), (o) => {
    ;(o.metadata as Obj).ownerReferences = [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: clusterName, uid: '00000000-0000-4000-8000-000000000001' }]
  })
}

function moveMd(obj: Obj, clusterName: string): Obj {
  return edit(obj, (o) => {
    const spec = o.spec as Obj
    spec.clusterName = clusterName
    ;((spec.template as Obj).spec as Obj).clusterName = clusterName
  })
}

/**
 * Three Clusters: bm-workload (registry address, skew 1) with its KCP at v1.33.7-2 and workers at
 * `workers`; decoy (registry address, opt-in skew 2) whose KCP runs v1.35.6-acp.1; noreg (no
 * registry address) whose KCP runs v1.32.8. Every KCP carries its own cluster-name label.
 */
function membershipWorld(level: ApiLevel, workers = 'v1.32.8', extra: readonly unknown[] = []): MemoryView {
  return view([
    cluster({ level }),
    cluster({ level, name: 'decoy', annotations: { ...REGISTRY, [SKEW_ANNOTATION]: '2' } }),
    cluster({ level, name: 'noreg', annotations: {} }),
    catalog(),
    kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }),
    kcp({ level, name: 'decoy-control-plane', cluster: 'decoy', version: 'v1.35.6-acp.1', statusVersion: 'v1.35.6-acp.1' }),
    kcp({ level, name: 'noreg-control-plane', cluster: 'noreg', version: 'v1.32.8', statusVersion: 'v1.32.8' }),
    md({ level, version: workers }),
    md({ level, name: 'decoy-workers', cluster: 'decoy', version: 'v1.34.5-3' }),
    ...extra,
  ])
}

describe.each(LEVELS)('class 1: membership cannot be bent in the same edit (%s)', (level) => {
  const cp = (version: string, status = 'v1.33.7-2'): Obj => kcp({ level, version, statusVersion: status })
  const upgrade = cp('v1.34.5-3')
  const stored = cp('v1.33.7-2')

  describe('worker-skew on a KCP upgrade (bm-workload workers at v1.32.8 would be two behind)', () => {
    it.each([
      { name: 'plain upgrade', old: stored, next: upgrade, expected: ['worker-skew'] },
      { name: 'relabelled to decoy (opt-in 2) in the same edit', old: stored, next: relabel(upgrade, 'decoy'), expected: ['worker-skew'] },
      { name: 'relabelled to decoy earlier (stored label too)', old: relabel(stored, 'decoy'), next: relabel(upgrade, 'decoy'), expected: ['worker-skew'] },
      { name: 'label dropped, ownerReference to decoy', old: stored, next: owned(upgrade, 'decoy'), expected: ['worker-skew'] },
      { name: 'label removed everywhere', old: relabel(stored, null), next: relabel(upgrade, null), expected: ['worker-skew'] },
    ])('$name → denied', ({ old, next, expected }) => {
      expect(deniedRules(request('UPDATE', old, next), membershipWorld(level))).toEqual(expected)
    })

    it('workers one minor behind, relabelled to noreg: judged against bm-workload → allowed', () => {
      expect(evaluate(request('UPDATE', stored, relabel(upgrade, 'noreg')), membershipWorld(level, 'v1.33.7-2'), DEFAULT_POLICY)).toMatchObject({ allowed: true, denied: [] })
    })
  })

  describe('registry-address on a KCP version change', () => {
    const noreg = (version: string): Obj => kcp({ level, name: 'noreg-control-plane', cluster: 'noreg', version, statusVersion: 'v1.32.8' })
    it.each([
      { name: 'noreg KCP upgrade', old: noreg('v1.32.8'), next: noreg('v1.33.7-2'), allowed: false },
      { name: 'noreg KCP relabelled to bm-workload in the same edit', old: noreg('v1.32.8'), next: relabel(noreg('v1.33.7-2'), 'bm-workload'), allowed: false },
      { name: 'noreg KCP owned by bm-workload in the same edit', old: noreg('v1.32.8'), next: owned(noreg('v1.33.7-2'), 'bm-workload'), allowed: false },
    ])('$name → denied', ({ old, next }) => {
      expect(deniedRules(request('UPDATE', old, next), membershipWorld(level))).toEqual(['registry-address'])
    })

    it('CREATE of a KCP a Cluster without the annotation names, labelled for bm-workload → denied', () => {
      const v = membershipWorld(level, 'v1.33.7-2', [cluster({ level, name: 'fresh', annotations: {} })])
      const next = kcp({ level, name: 'fresh-control-plane', cluster: 'bm-workload', version: 'v1.33.7-2' })
      expect(deniedRules(request('CREATE', null, next), v)).toEqual(['registry-address'])
    })

    it('CREATE of a KCP a Cluster with the annotation names, labelled for noreg → allowed', () => {
      const v = membershipWorld(level, 'v1.33.7-2', [cluster({ level, name: 'fresh', annotations: REGISTRY })])
      const next = kcp({ level, name: 'fresh-control-plane', cluster: 'noreg', version: 'v1.33.7-2' })
      expect(evaluate(request('CREATE', null, next), v, DEFAULT_POLICY)).toMatchObject({ allowed: true, denied: [] })
    })
  })

  describe('fallback: a KCP no Cluster names is judged by its STORED label or owner (UPDATE), its own (CREATE)', () => {
    const orphan = (version: string, clusterName: string | null): Obj => kcp({ level, name: 'orphan-control-plane', cluster: clusterName, version, statusVersion: 'v1.32.8' })
    it.each([
      { name: 'stored label noreg, new label bm-workload', op: 'UPDATE', old: orphan('v1.32.8', 'noreg'), next: orphan('v1.33.7-2', 'bm-workload'), allowed: false },
      { name: 'stored owner noreg, new owner bm-workload', op: 'UPDATE', old: owned(orphan('v1.32.8', null), 'noreg'), next: owned(orphan('v1.33.7-2', null), 'bm-workload'), allowed: false },
      { name: 'stored label bm-workload, new label noreg', op: 'UPDATE', old: orphan('v1.32.8', 'bm-workload'), next: orphan('v1.33.7-2', 'noreg'), allowed: true },
      { name: 'CREATE labelled noreg', op: 'CREATE', old: null, next: orphan('v1.33.7-2', 'noreg'), allowed: false },
      { name: 'CREATE labelled bm-workload', op: 'CREATE', old: null, next: orphan('v1.33.7-2', 'bm-workload'), allowed: true },
    ] as const)('$name → allowed: $allowed', ({ op, old, next, allowed }) => {
      const d = evaluate(request(op, old, next), membershipWorld(level), DEFAULT_POLICY)
      expect(d.allowed).toBe(allowed)
      if (!allowed) expect([...new Set(d.denied.map((x) => x.rule))]).toEqual(['registry-address'])
    })
  })

  describe('MachineDeployments belong to spec.clusterName; the label never counts', () => {
    const worker = (version: string): Obj => md({ level, version })
    it.each([
      { name: 'ahead of its control plane', op: 'UPDATE', old: worker('v1.32.8'), next: worker('v1.34.5-3'), expected: ['workers-follow-control-plane'] },
      { name: 'ahead, spec.clusterName moved to decoy in the same edit (judged against both)', op: 'UPDATE', old: worker('v1.32.8'), next: moveMd(worker('v1.34.5-3'), 'decoy'), expected: ['workers-follow-control-plane'] },
      { name: 'ahead, relabelled to decoy', op: 'UPDATE', old: worker('v1.32.8'), next: relabel(worker('v1.34.5-3'), 'decoy'), expected: ['workers-follow-control-plane'] },
      { name: 'CREATE ahead, labelled for decoy', op: 'CREATE', old: null, next: relabel(md({ level, name: 'new-pool', version: 'v1.34.5-3' }), 'decoy'), expected: ['workers-follow-control-plane'] },
      { name: 'CREATE with only a decoy label (no spec.clusterName): not judged against decoy', op: 'CREATE', old: null, next: md({ level, name: 'new-pool', cluster: null, labels: { [LABEL]: 'decoy' }, version: 'v1.34.5-3' }), expected: ['workers-follow-control-plane', 'worker-skew', 'registry-address'] },
      { name: 'fine in decoy, moved to bm-workload whose control plane is older: judged against both', op: 'UPDATE', old: md({ level, name: 'decoy-workers', cluster: 'decoy', version: 'v1.33.7-2' }), next: moveMd(md({ level, name: 'decoy-workers', cluster: 'decoy', version: 'v1.33.7-3' }), 'bm-workload'), expected: ['workers-follow-control-plane'] },
    ] as const)('$name → denied', ({ op, old, next, expected }) => {
      expect(deniedRules(request(op, old, next), membershipWorld(level))).toEqual(expected)
    })

    it.each([
      { name: 'patch bump, relabelled to decoy', op: 'UPDATE', old: worker('v1.32.7'), next: relabel(worker('v1.32.8'), 'decoy') },
      { name: 'CREATE one behind, labelled for noreg', op: 'CREATE', old: null, next: relabel(md({ level, name: 'new-pool', version: 'v1.32.8' }), 'noreg') },
    ] as const)('$name → allowed', ({ op, old, next }) => {
      expect(evaluate(request(op, old, next), membershipWorld(level), DEFAULT_POLICY)).toMatchObject({ allowed: true, denied: [] })
    })
  })

  it('a Cluster naming a KCP that is not in the view has no control plane: never a labelled stand-in', () => {
    const impostor = kcp({ level, name: 'impostor', cluster: 'ghost', version: 'v1.35.6-acp.1', statusVersion: 'v1.35.6-acp.1' })
    const v = membershipWorld(level, 'v1.32.8', [cluster({ level, name: 'ghost' }), impostor])
    expect(controlPlaneOf(v, NS, 'ghost')).toBeUndefined()
    expect(controlPlaneOf(v, NS, 'bm-workload')?.name).toBe(KCP_NAME)
    const d = evaluate(request('CREATE', null, md({ level, name: 'ghost-workers', cluster: 'ghost', version: 'v1.35.6-acp.1' })), v, DEFAULT_POLICY)
    expect(d.allowed).toBe(false)
    expect(d.denied.map((x) => x.message).join('\n')).toContain('no KubeadmControlPlane of cluster cpaas-system/ghost')
  })

  it('membershipsOf: the controlPlaneRef wins over label and owner; MD claims of old and new are all judged', () => {
    const v = membershipWorld(level)
    expect(membershipsOf(guarded(stored), guarded(owned(relabel(upgrade, 'decoy'), 'noreg')), v)).toEqual([{ clusterName: 'bm-workload', source: 'controlPlaneRef' }])
    expect(membershipsOf(guarded(md({ level })), guarded(moveMd(md({ level }), 'decoy')), v).map((m) => m.clusterName)).toEqual(['decoy', 'bm-workload'])
  })
})

describe.each(LEVELS)('class 2: the running version is the lowest PARSEABLE one (%s)', (level) => {
  const state = (cpSpec: unknown, cpStatus: string | undefined): MemoryView =>
    view([cluster({ level }), catalog(), kcp({ level, version: cpSpec, ...(cpStatus === undefined ? {} : { statusVersion: cpStatus }) }), md({ level, version: 'v1.32.8' })])
  it.each([
    { name: 'KCP spec "garbage", status v1.32.8, to v1.34.5', old: kcp({ level, version: 'garbage', statusVersion: 'v1.32.8' }), next: kcp({ level, version: 'v1.34.5', statusVersion: 'v1.32.8' }), expected: 'control-plane-minor-step' },
    { name: 'KCP spec "1.32.8" (no v), no status, to v1.34.5', old: kcp({ level, version: '1.32.8' }), next: kcp({ level, version: 'v1.34.5' }), expected: 'control-plane-minor-step' },
    { name: 'KCP spec and status unreadable', old: kcp({ level, version: 'garbage', statusVersion: 'junk' }), next: kcp({ level, version: 'v1.33.7-2', statusVersion: 'junk' }), expected: 'control-plane-minor-step' },
    { name: 'MD "1.33.7-2" (no v) down to v1.32.8', old: md({ level, version: '1.33.7-2' }), next: md({ level, version: 'v1.32.8' }), expected: 'no-downgrade' },
  ])('UPDATE $name → denied ($expected)', ({ old, next, expected }) => {
    expect(deniedRules(request('UPDATE', old, next), state('v1.33.7-2', 'v1.33.7-2'))).toContain(expected)
  })

  it.each([
    { name: 'UPDATE', old: md({ level, version: 'v1.32.8' }) },
    { name: 'CREATE', old: null },
  ])('$name of an MD ahead of a control plane whose spec is unreadable but status v1.32.8 → denied', ({ old }) => {
    const next = md({ level, version: 'v1.33.7-2', ...(old === null ? { name: 'new-pool' } : {}) })
    expect(deniedRules(request(old === null ? 'CREATE' : 'UPDATE', old, next), state('garbage', 'v1.32.8'))).toContain('workers-follow-control-plane')
  })

  it('an MD edit against a control plane with neither version readable → denied, naming the field to fix', () => {
    const d = evaluate(request('UPDATE', md({ level, version: 'v1.32.7' }), md({ level, version: 'v1.32.8' })), state('garbage', 'junk'), DEFAULT_POLICY)
    expect(d.allowed).toBe(false)
    const text = d.denied.map(formatViolation).join('\n')
    expect(text).toContain('the running version of the control plane (KubeadmControlPlane cpaas-system/bm-workload-control-plane) cannot be read')
    expect(text).toContain('fix spec.version of cpaas-system/bm-workload-control-plane')
  })

  it.each([
    { name: 'KCP spec "garbage", status v1.33.7-2, one minor up', old: kcp({ level, version: 'garbage', statusVersion: 'v1.33.7-2' }), next: kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' }) },
    { name: 'MD "1.32.8" (no v) up to v1.32.8', old: md({ level, version: '1.32.8' }), next: md({ level, version: 'v1.32.8' }) },
  ])('UPDATE $name → allowed', ({ old, next }) => {
    const v = view([cluster({ level }), catalog(), kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }), md({ level, version: 'v1.33.7-2' })])
    expect(evaluate(request('UPDATE', old, next), v, DEFAULT_POLICY)).toMatchObject({ allowed: true, denied: [] })
  })
})

describe.each(LEVELS)('class 3: the judged kind is what the API server routed (%s)', (level) => {
  const group = 'controlplane.cluster.x-k8s.io'
  const routedKcp = { group, version: level, kind: 'KubeadmControlPlane' }
  const routedMd = { group: 'cluster.x-k8s.io', version: level, kind: 'MachineDeployment' }
  const bad = kcp({ level, maxSurge: 1, statusVersion: 'v1.33.7-2' })
  const fine = kcp({ level, statusVersion: 'v1.33.7-2' })
  const w = (): MemoryView => view([cluster({ level }), catalog(), kcp({ level, statusVersion: 'v1.33.7-2' }), md({ level })])
  const strip = (o: Obj, key: 'kind' | 'apiVersion'): Obj => edit(o, (x) => delete x[key])
  const as = (o: Obj, key: 'kind' | 'apiVersion', value: string): Obj => edit(o, (x) => (x[key] = value))
  const judged = (op: 'CREATE' | 'UPDATE', old: unknown, next: unknown, kind = routedKcp): string[] => deniedRules(request(op, old, next, ADMIN, { kind, resource: 'kubeadmcontrolplanes', namespace: NS, name: KCP_NAME }), w())

  it.each([
    { name: 'CREATE, object without kind', op: 'CREATE', old: null, next: strip(bad, 'kind'), expected: ['max-surge-zero'] },
    { name: 'CREATE, object without apiVersion', op: 'CREATE', old: null, next: strip(bad, 'apiVersion'), expected: ['max-surge-zero'] },
    { name: 'CREATE, object says ConfigMap', op: 'CREATE', old: null, next: as(bad, 'kind', 'ConfigMap'), expected: ['request'] },
    { name: 'CREATE, object says MachineDeployment', op: 'CREATE', old: null, next: as(bad, 'kind', 'MachineDeployment'), expected: ['request'] },
    { name: 'CREATE, object in another API version', op: 'CREATE', old: null, next: as(bad, 'apiVersion', `${group}/${level === 'v1beta1' ? 'v1beta2' : 'v1beta1'}`), expected: ['request'] },
    { name: 'CREATE carrying an oldObject equal to the object (ignored)', op: 'CREATE', old: bad, next: bad, expected: ['max-surge-zero'] },
    { name: 'UPDATE, oldObject without kind', op: 'UPDATE', old: strip(fine, 'kind'), next: bad, expected: ['max-surge-zero'] },
    { name: 'UPDATE, oldObject says Secret', op: 'UPDATE', old: as(fine, 'kind', 'Secret'), next: bad, expected: ['request'] },
    { name: 'UPDATE without oldObject', op: 'UPDATE', old: null, next: bad, expected: ['request'] },
    { name: 'UPDATE without oldObject, even of a fine object', op: 'UPDATE', old: null, next: fine, expected: ['request'] },
    { name: 'object named for another KCP than the request', op: 'UPDATE', old: fine, next: edit(bad, (o) => ((o.metadata as Obj).name = 'other')), expected: ['request'] },
  ] as const)('$name → denied $expected', ({ op, old, next, expected }) => {
    expect(judged(op, old, next)).toEqual(expected)
  })

  it.each([
    { name: 'CREATE of a fine KCP without kind', op: 'CREATE', old: null, next: strip(fine, 'kind') },
    { name: 'UPDATE of a fine KCP without apiVersion on either side', op: 'UPDATE', old: strip(fine, 'apiVersion'), next: strip(touchLabel(fine), 'apiVersion') },
  ] as const)('$name → allowed (judged as request.kind says)', ({ op, old, next }) => {
    expect(judged(op, old, next)).toEqual([])
  })

  it('an object in an exempt namespace by its own metadata, routed to a guarded one → refused', () => {
    const p = policy({ scope: { exemptNamespaces: ['kube-system'] } })
    const next = edit(bad, (o) => ((o.metadata as Obj).namespace = 'kube-system'))
    const d = evaluate(request('CREATE', null, next, ADMIN, { kind: routedKcp, namespace: NS, name: KCP_NAME }), w(), p)
    expect(d.denied.map((x) => `${x.rule}@${x.field}`)).toEqual(['request@object.metadata.namespace'])
  })

  it('an MD routed as a MachineDeployment whose object says KubeadmControlPlane → refused, not skipped', () => {
    const next = as(md({ level, maxSurge: 1 }), 'kind', 'KubeadmControlPlane')
    const d = evaluate(request('CREATE', null, next, ADMIN, { kind: routedMd }), w(), DEFAULT_POLICY)
    expect(d).toMatchObject({ allowed: false })
    expect(d.skipped).toBeUndefined()
  })

  it('DELETE is judged on oldObject alone: an object sent with it changes nothing', () => {
    const users = view([cluster({ level }), catalog(), kcp({ level, statusVersion: 'v1.33.7-2' })])
    const routedCm = { group: '', version: 'v1', kind: 'ConfigMap' }
    const del = (object: unknown): EngineRequest => ({ ...request('DELETE', catalog(), null, ADMIN, { kind: routedCm }), object })
    for (const object of [null, catalog(), bad, { kind: 'Secret' }]) expect(deniedRules(del(object), users)).toEqual(['catalog-in-use'])
    // A KCP DELETE is never denied, whatever object rides along.
    const kcpDelete = { ...request('DELETE', fine, null, ADMIN, { kind: routedKcp }), object: as(catalog(), 'kind', 'ConfigMap') }
    expect(evaluate(kcpDelete, users, DEFAULT_POLICY)).toMatchObject({ allowed: true, skipped: 'delete' })
  })

  it('the mutating webhook patches only an object of the routed kind', () => {
    const unset = kcp({ level, maxSurge: null })
    expect(mutate({ operation: 'CREATE', kind: routedKcp, object: unset }, DEFAULT_POLICY).patch).toHaveLength(1)
    expect(mutate({ operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, object: unset }, DEFAULT_POLICY).patch).toEqual([])
    expect(mutate({ operation: 'CREATE', kind: { ...routedKcp, version: level === 'v1beta1' ? 'v1beta2' : 'v1beta1' }, object: unset }, DEFAULT_POLICY).patch).toEqual([])
  })

  it('a catalog UPDATE without oldObject → refused (nothing says which keys go)', () => {
    const d = evaluate({ ...request('UPDATE', catalog(), catalog(['v1.33.7-2'])), oldObject: null }, w(), DEFAULT_POLICY)
    expect(d.denied.map((x) => `${x.rule}@${x.field}`)).toEqual(['request@oldObject'])
  })
})

function touchLabel(o: Obj): Obj {
  return edit(o, (x) => ((x.metadata as Obj).labels = { ...((x.metadata as Obj).labels as Record<string, string>), 'example.com/touched': 'true' }))
}

/** An admission.k8s.io/v1 AdmissionReview as the API server sends it, routed as `kind`. */
export function envelope(op: 'CREATE' | 'UPDATE' | 'DELETE', old: Obj | null, next: Obj | null, o: { kind?: Obj; resource?: Obj; subResource?: string; username?: string; groups?: string[] } = {}): Obj {
  const subject = (next ?? old) as Obj
  const apiVersion = String(subject.apiVersion)
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  const meta = subject.metadata as Obj
  const plural = subject.kind === 'KubeadmControlPlane' ? 'kubeadmcontrolplanes' : subject.kind === 'MachineDeployment' ? 'machinedeployments' : 'configmaps'
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0a0a0a0a-0000-4000-8000-000000000001',
      kind: o.kind ?? { group, version, kind: subject.kind },
      resource: o.resource ?? { group, version, resource: plural },
      ...(o.subResource === undefined ? {} : { subResource: o.subResource }),
      name: meta.name,
      namespace: meta.namespace,
      operation: op,
      userInfo: { username: o.username ?? 'kubernetes-admin', groups: o.groups ?? ['system:masters', 'system:authenticated'] },
      object: next,
      oldObject: old,
      dryRun: false,
    },
  }
}

type Response = { allowed: boolean; warnings?: string[]; status?: { message: string } }
const respond = (body: Obj, v: MemoryView, p = DEFAULT_POLICY, endpoint: 'validate' | 'mutate' = 'validate'): Response => {
  const outcome = review(body, endpoint, { policy: p, view: v })
  if (outcome.kind !== 'response') throw new Error(outcome.message)
  return outcome.body.response as Response
}

describe('class 4: honest messages', () => {
  const world4 = (level: ApiLevel = 'v1beta1', clusterAnnotations: Record<string, string> = REGISTRY): MemoryView =>
    view([cluster({ level, annotations: clusterAnnotations }), catalog(), kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }), md({ level, version: 'v1.33.7-2' })])
  const HUGE = 'x'.repeat(50_000)
  const admins = policy({ bypass: { users: ['kubernetes-admin'] } })

  describe.each(LEVELS)('%s', (level) => {
    it('an honoured bypass is announced in a warning, its 50 kB reason cut to 256 characters', () => {
      const old = kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
      const next = withAnnotations(kcp({ level, version: 'v1.35.6-acp.1', statusVersion: 'v1.33.7-2' }), { [BYPASS]: 'control-plane-minor-step,worker-skew', [BYPASS_REASON]: HUGE })
      const r = respond(envelope('UPDATE', old, next), world4(level), admins)
      expect(r.allowed).toBe(true)
      const notice = r.warnings?.find((w) => w.startsWith('[bypass]'))
      expect(notice).toContain('bypass honoured for user "kubernetes-admin": control-plane-minor-step, worker-skew skipped')
      expect(notice).toContain(`"${'x'.repeat(255)}…"`)
      expect(notice?.length).toBeLessThan(600)
    })

    it('no bypass used → no bypass warning', () => {
      const old = kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
      const next = withAnnotations(kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' }), { [BYPASS]: 'control-plane-minor-step', [BYPASS_REASON]: 'just in case' })
      expect(respond(envelope('UPDATE', old, next), world4(level), admins).warnings ?? []).not.toContainEqual(expect.stringMatching(/^\[bypass\]/))
    })

    it('an unauthorised bypass with a 50 kB annotation value: denied, the value echoed at most 256 characters', () => {
      const next = withAnnotations(md({ level, name: 'new-pool', maxSurge: 1 }), { [BYPASS]: `max-surge-zero,${HUGE}`, [BYPASS_REASON]: HUGE })
      const r = respond(envelope('CREATE', null, next), world4(level))
      expect(r.allowed).toBe(false)
      for (const line of r.status?.message.split('\n') ?? []) expect(line.length).toBeLessThan(1200)
    })

    it('a 50 kB skew opt-in annotation on the Cluster is cut in the message', () => {
      const v = world4(level, { ...REGISTRY, [SKEW_ANNOTATION]: HUGE })
      const r = respond(envelope('CREATE', null, md({ level, name: 'new-pool', version: 'v1.31.0' })), v)
      expect(r.allowed).toBe(false)
      expect(r.status?.message).toContain('…')
      expect(r.status?.message.length).toBeLessThan(3000)
    })

    it('pinned CoreDNS and etcd tags left unchanged: ONE warning naming both', () => {
      const old = kcp({ level, version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
      const r = respond(envelope('UPDATE', old, kcp({ level, version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' })), world4(level))
      const pinned = (r.warnings ?? []).filter((w) => w.startsWith('[pinned-component-tags]'))
      expect(pinned).toHaveLength(1)
      expect(pinned[0]).toContain('CoreDNS and etcd')
      expect(pinned[0]).toContain(TAGS['v1.33'].etcd)
    })

    it('a /scale to 0 replicas (replicas omitted, as autoscaling/v1 omits a zero) is reported as 0', () => {
      const v = world4(level)
      const zero = edit(scale(KCP_NAME, 0), (o) => delete (o.spec as Obj).replicas)
      const body = envelope('UPDATE', scale(KCP_NAME, 3), zero, { kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, resource: { group: 'controlplane.cluster.x-k8s.io', version: level, resource: 'kubeadmcontrolplanes' }, subResource: 'scale' })
      const r = respond(body, v)
      expect(r.allowed).toBe(false)
      expect(r.status?.message).toContain('0 replica(s) cannot roll with maxSurge 0')
      expect(r.status?.message).not.toContain('1 replica(s)')
    })

    it('a leading "v" added and maxSurge/maxUnavailable defaulted: each rule says so in one warning', () => {
      const next = md({ level, name: 'new-pool', version: '1.33.7-2', maxSurge: null, maxUnavailable: null })
      const r = respond(envelope('CREATE', null, next), world4(level), DEFAULT_POLICY, 'mutate')
      const texts = r.warnings ?? []
      expect(texts.filter((w) => w.startsWith('[catalog-key]'))).toEqual([expect.stringContaining('set to "v1.33.7-2" (was "1.33.7-2"')])
      const surge = texts.filter((w) => w.startsWith('[max-surge-zero]'))
      expect(surge).toHaveLength(1)
      expect(surge[0]).toContain('maxSurge: set to 0')
      expect(surge[0]).toContain('maxUnavailable: set to 1')
    })

    it('a KCP whose maxSurge is only defaulted gets a warning too', () => {
      const m = mutate({ operation: 'CREATE', object: kcp({ level, maxSurge: null }) }, DEFAULT_POLICY)
      expect(m.patch).toHaveLength(1)
      expect(m.warnings).toEqual([expect.stringMatching(/^\[max-surge-zero\] spec\.rollout(Strategy)?\.(strategy\.)?rollingUpdate\.maxSurge: set to 0/)])
    })
  })

  it('a hint never proposes a step the control plane cannot make: a worker two minors ahead', () => {
    const v = view([cluster(), catalog(), kcp({ version: 'v1.32.8', statusVersion: 'v1.32.8' }), md({ version: 'v1.32.8' })])
    const d = evaluate(request('UPDATE', md({ version: 'v1.32.8' }), md({ version: 'v1.34.5-3' })), v, DEFAULT_POLICY)
    const hint = d.denied.find((x) => x.rule === 'workers-follow-control-plane')?.hint
    expect(hint).toContain('upgrade the control plane one minor at a time (v1.33 first')
    expect(hint).not.toContain('wait until its status.version reaches v1.34.5-3,')
  })

  it('a hint never says to wait for a worker version the catalog cannot resolve', () => {
    const v = view([cluster(), catalog(), kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }), md({ version: 'v1.33.7-2' })])
    const d = evaluate(request('UPDATE', md({ version: 'v1.33.7-2' }), md({ version: 'v1.34.9' })), v, DEFAULT_POLICY)
    const hint = d.denied.find((x) => x.rule === 'workers-follow-control-plane')?.hint
    expect(hint).toContain('v1.34.9 is not a catalog key yet: add it (kubectl -n cpaas-system patch configmap elemental-image-catalog')
  })

  it('a hint never says "wait" for a rollout that cannot finish (its target is not a catalog key)', () => {
    const v = view([cluster(), catalog(['v1.32.8', 'v1.34.5-3']), kcp({ version: 'v1.33.7-2', statusVersion: 'v1.32.8' })])
    const old = kcp({ version: 'v1.33.7-2', statusVersion: 'v1.32.8' })
    const d = evaluate(request('UPDATE', old, kcp({ version: 'v1.34.5-3', statusVersion: 'v1.32.8' })), v, DEFAULT_POLICY)
    const hint = d.denied.find((x) => x.rule === 'control-plane-minor-step')?.hint
    expect(hint).toContain('the rollout in progress to v1.33.7-2 cannot finish: v1.33.7-2 is not a catalog key; add it (kubectl')
  })

  it('warningTexts: one line per rule, findings joined', () => {
    const v = (rule: Violation['rule'], field: string): Violation => ({ rule, field, type: 'Forbidden', message: 'm', hint: 'h' })
    expect(warningTexts([v('catalog-key', 'a'), v('worker-skew', 'b'), v('catalog-key', 'c')])).toEqual(['[catalog-key] a: Forbidden: m; h | c: Forbidden: m; h', '[worker-skew] b: Forbidden: m; h'])
  })

  it('clip: 256 code points at most, never half a surrogate pair', () => {
    expect(clip('a'.repeat(256))).toBe('a'.repeat(256))
    expect(clip('a'.repeat(257))).toBe(`${'a'.repeat(255)}…`)
    const rockets = clip('🚀'.repeat(300))
    expect([...rockets]).toHaveLength(256)
    expect(rockets.endsWith('🚀…')).toBe(true)
  })

  it('every message and hint stays short when every user field is huge', () => {
    const huge = (c: string): string => c.repeat(40_000)
    const v = view([cluster({ annotations: { ...REGISTRY, [SKEW_ANNOTATION]: huge('9') } }), catalog({ [`v1.33.7-${huge('9')}`]: huge('i') }), kcp({ version: 'v1.33.7-2', statusVersion: huge('s') }), md({ version: huge('w') })])
    const requests = [
      request('UPDATE', md({ version: huge('o') }), withAnnotations(md({ version: `v1.31.0-${huge('r')}`, maxSurge: huge('%') }), { [BYPASS]: huge('b'), [BYPASS_REASON]: huge('q') })),
      request('UPDATE', kcp({ version: huge('k'), statusVersion: huge('s') }), kcp({ version: 'v1.35.6-acp.1', dnsTag: huge('d'), etcdTag: huge('e') })),
      request('UPDATE', catalog(), catalog({ [huge('1')]: huge('/'), 'v1.34.5': `r.io/x@sha512:${huge('f')}` })),
      request('DELETE', catalog(), null),
    ]
    for (const req of requests) {
      const d = evaluate(req, v, admins)
      for (const x of [...d.denied, ...d.warnings]) {
        expect(x.message.length, x.message.slice(0, 120)).toBeLessThan(1500)
        expect(x.hint.length, x.hint.slice(0, 120)).toBeLessThan(1500)
        expect(formatViolation(x).length).toBeLessThan(3200)
      }
    }
  })
})

describe('the CLI `review` and the server give the same verdicts (one code path)', () => {
  it('in-process review() and the served /validate agree on the integrity cases', async () => {
    const { startTestServer, parseAnswer } = await import('../server/helpers.js')
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { loadFileView } = await import('../../src/state/file-view.js')
    const { runReviewCliAsync, requireDist } = await import('../server/helpers.js')
    requireDist()
    const objects = [cluster(), cluster({ name: 'decoy', annotations: { ...REGISTRY, [SKEW_ANNOTATION]: '2' } }), catalog(), kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }), kcp({ name: 'decoy-control-plane', cluster: 'decoy', version: 'v1.35.6-acp.1', statusVersion: 'v1.35.6-acp.1' }), md({ version: 'v1.32.8' }), md({ name: 'decoy-workers', cluster: 'decoy', version: 'v1.34.5-3' })]
    const dir = mkdtempSync(join(tmpdir(), 'ug-integrity-'))
    objects.forEach((o, i) => writeFileSync(join(dir, `${i}.json`), JSON.stringify(o)))
    const stored = kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
    const bodies: { name: string; body: Obj; allowed: boolean }[] = [
      { name: 'KCP relabelled to decoy, workers two behind', body: envelope('UPDATE', stored, relabel(kcp({ version: 'v1.34.5-3', statusVersion: 'v1.33.7-2' }), 'decoy')), allowed: false },
      { name: 'KCP without kind, maxSurge 1', body: envelope('UPDATE', stored, edit(kcp({ maxSurge: 1, statusVersion: 'v1.33.7-2' }), (o) => delete o.kind)), allowed: false },
      { name: 'UPDATE without oldObject', body: edit(envelope('UPDATE', stored, stored), (o) => ((o.request as Obj).oldObject = null)), allowed: false },
      { name: 'MD moved to decoy', body: envelope('UPDATE', md({ version: 'v1.32.8' }), moveMd(md({ version: 'v1.34.5-3' }), 'decoy')), allowed: false },
      { name: 'fine MD patch bump relabelled', body: envelope('UPDATE', md({ version: 'v1.32.7' }), relabel(md({ version: 'v1.32.8' }), 'decoy')), allowed: true },
    ]
    const server = await startTestServer({ statePath: dir })
    try {
      const deps = { policy: DEFAULT_POLICY, view: loadFileView([dir], DEFAULT_POLICY.catalog).view }
      for (const { name, body, allowed } of bodies) {
        const text = JSON.stringify(body)
        const inProcess = review(body, 'validate', deps)
        if (inProcess.kind !== 'response') throw new Error(name)
        expect(inProcess.body.response.allowed, name).toBe(allowed)
        const served = parseAnswer(await server.post('/validate?timeout=10s', text))
        expect(served.response, name).toEqual(inProcess.body.response)
        const cli = await runReviewCliAsync(text, ['--state', dir])
        expect(JSON.parse(cli.stdout).response, name).toEqual(inProcess.body.response)
      }
    } finally {
      await server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
