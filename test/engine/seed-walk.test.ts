/**
 * The ACP seed's "Cross-Version Upgrades", walked through evaluate() step by step:
 *
 *   "Kubernetes only supports single-minor upgrades for the control plane (skew policy). To move
 *    from v1.32 → v1.34:
 *     1. Add the v1.33 entry to elemental-image-catalog and upgrade the control plane to v1.33;
 *        wait for the rollout to complete.
 *     2. Add the v1.34 entry; upgrade the control plane to v1.34.
 *     3. Upgrade the worker MachineDeployment to v1.34."
 *
 * A MemoryView stands in for the informers: after every allowed step the stored object is
 * upserted, and the rollout finishing is simulated by setting KCP status.version (a status
 * subresource write, which the guard skips). Every legal step must be allowed; every shortcut
 * must be denied by the right rule, and must leave the state unchanged.
 */
import { describe, expect, it } from 'vitest'
import type { EngineRequest, UserInfo } from '../../src/engine/decision.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { formatViolation } from '../../src/rules/field-path.js'
import {
  CAPI_CONTROLLER,
  catalog,
  cluster,
  edit,
  image,
  kcp,
  md,
  policy,
  REGISTRY_ANNOTATION,
  request,
  SKEW_ANNOTATION,
  TAGS,
  touch,
  view,
  withAnnotations,
  withStatusVersion,
  type Obj,
} from '../helpers/objects.js'
import { controlPlaneMachines, machine, managementDeployments, pool, template } from '../helpers/lifecycle.js'

const POLICY = policy() // policies/default.yaml as built in
const WORKERS = 'bm-workload-workers'
const GPU = 'bm-workload-gpu'

/** What the walk has stored so far (the API server's view of the objects). */
const stored = {
  cluster: cluster({ annotations: { [REGISTRY_ANNOTATION]: 'registry.example.com:11443' } }),
  catalog: catalog(['v1.32.7', 'v1.32.8']),
  kcp: kcp({ level: 'v1beta2', version: 'v1.32.8', statusVersion: 'v1.32.8', replicas: 3, maxSurge: 0, dnsTag: TAGS['v1.32'].dns, etcdTag: TAGS['v1.32'].etcd }),
  mds: {
    [WORKERS]: md({ level: 'v1beta2', name: WORKERS, version: 'v1.32.8' }),
    [GPU]: md({ level: 'v1beta1', name: GPU, version: 'v1.32.7' }),
  } as Record<string, Obj>,
}
// The hosts and controllers the seed's Prerequisites ask about: healthy Machines, pools with
// room, management Deployments rolled out (the preflight rules pass on every legal step).
const KCP_MACHINE = 'bm-workload-control-plane-b'
const lifecycle = [
  ...controlPlaneMachines({ level: 'v1beta2', version: 'v1.32.8' }),
  ...[WORKERS, GPU].flatMap((name) => [machine(`${name}-1`, { role: 'worker', deployment: name, version: 'v1.32.8' }), template(`${name}-template`, `${name}-pool`), pool(`${name}-pool`, { available: 1, allocated: 3, total: 4 })]),
  template('bm-workload-control-plane-template', 'cp-pool'),
  pool('cp-pool', { allocated: 3, total: 3 }),
  ...managementDeployments(),
]
const state = view([stored.cluster, stored.catalog, stored.kcp, ...Object.values(stored.mds), ...lifecycle])
/** A Machine write: not a guarded object (allowed, and the view sees it). */
const machineWrite = (next: Obj): EngineRequest => request('UPDATE', next, next, CAPI_CONTROLLER)

const kcpAt = (version: string, minor: keyof typeof TAGS): Obj =>
  edit(stored.kcp, (o) => {
    const spec = o.spec as Obj
    spec.version = version
    const cc = (spec.kubeadmConfigSpec as Obj).clusterConfiguration as Obj
    cc.dns = { imageTag: TAGS[minor].dns }
    cc.etcd = { local: { imageTag: TAGS[minor].etcd } }
  })
const mdAt = (name: string, version: string): Obj => edit(stored.mds[name] as Obj, (o) => ((((o.spec as Obj).template as Obj).spec as Obj).version = version))
const catalogWith = (...keys: string[]): Obj => edit(stored.catalog, (o) => Object.assign(o.data as Obj, Object.fromEntries(keys.map((k) => [k, image(k)]))))
const catalogWithout = (...keys: string[]): Obj => edit(stored.catalog, (o) => keys.forEach((k) => delete (o.data as Obj)[k]))
const rolloutDone = (version: string): Obj => withStatusVersion(stored.kcp, version)

/** Records an allowed object as stored (what the informer would deliver). */
function store(obj: Obj): void {
  if (obj.kind === 'KubeadmControlPlane') stored.kcp = obj
  else if (obj.kind === 'MachineDeployment') stored.mds[(obj.metadata as Obj).name as string] = obj
  else if (obj.kind === 'ConfigMap') stored.catalog = obj
  else if (obj.kind === 'Cluster') stored.cluster = obj
  state.upsert(obj)
}

const OPERATOR: UserInfo = { username: 'platform-operator', groups: ['system:authenticated'] }

const update = (next: Obj, user: UserInfo = OPERATOR): EngineRequest => {
  const old = next.kind === 'KubeadmControlPlane' ? stored.kcp : next.kind === 'ConfigMap' ? stored.catalog : next.kind === 'Cluster' ? stored.cluster : stored.mds[(next.metadata as Obj).name as string]
  return request('UPDATE', old, next, user)
}

interface Step {
  readonly name: string
  /** The proposed object (built when the step runs, from what is stored then). */
  readonly next: () => Obj
  /** Who sends it, and as what (default: an operator's UPDATE). */
  readonly send?: (next: Obj) => EngineRequest
  /** undefined: allowed (and stored); otherwise the exact set of denying rule ids. */
  readonly deniedBy?: readonly string[]
  /** Text every denial (or, for an allowed step, every warning) of the named rule must contain. */
  readonly says?: Readonly<Record<string, readonly string[]>>
}

const steps: readonly Step[] = [
  // Step 1 of the seed: add the v1.33 entry.
  { name: 'shortcut: add the v1.33 key without the leading v', next: () => catalogWith('1.33.7-2'), deniedBy: ['catalog-shape'], says: { 'catalog-shape': ['rename the key to "v1.33.7-2"'] } },
  { name: 'shortcut: upgrade the control plane before its image is in the catalog', next: () => kcpAt('v1.33.7-2', 'v1.33'), deniedBy: ['catalog-key'], says: { 'catalog-key': ['ImageCatalogMiss', 'nearest keys: v1.32.8, v1.32.7'] } },
  { name: 'add the v1.33 entry to elemental-image-catalog', next: () => catalogWith('v1.33.7-2') },
  { name: 'shortcut: skip a minor (control plane v1.32 → v1.34)', next: () => kcpAt('v1.34.5-3', 'v1.34'), deniedBy: ['catalog-key', 'control-plane-minor-step', 'worker-skew'], says: { 'control-plane-minor-step': ['cannot go from v1.32.8 to v1.34.5-3 in one step', 'set spec.version to v1.33.7-2 first'] } },
  { name: 'shortcut: a v1.33 patch the catalog lacks', next: () => kcpAt('v1.33.8', 'v1.33'), deniedBy: ['catalog-key'], says: { 'catalog-key': ['nearest keys: v1.33.7-2'] } },
  { name: 'shortcut: control plane with maxSurge 1', next: () => edit(kcpAt('v1.33.7-2', 'v1.33'), (o) => ((((o.spec as Obj).rollout as Obj).strategy as Obj).rollingUpdate = { maxSurge: 1 })), deniedBy: ['max-surge-zero'], says: { 'max-surge-zero': ['over-provision'] } },
  { name: 'shortcut: workers before the control plane', next: () => mdAt(WORKERS, 'v1.33.7-2'), deniedBy: ['workers-follow-control-plane'], says: { 'workers-follow-control-plane': ['after the control-plane rollout completes'] } },
  // Prerequisites: "All current nodes are healthy and Ready."
  { name: 'a control-plane node goes NotReady', next: () => machine(KCP_MACHINE, { level: 'v1beta2', version: 'v1.32.8', ready: 'False' }), send: machineWrite },
  { name: 'shortcut: upgrade the control plane while a control-plane Machine is not Ready', next: () => kcpAt('v1.33.7-2', 'v1.33'), deniedBy: ['control-plane-healthy'], says: { 'control-plane-healthy': [`${KCP_MACHINE} (Ready=False (NodeNotReady))`, 'with maxSurge 0 CAPI deletes a healthy one next'] } },
  { name: 'the node is repaired (Ready again)', next: () => machine(KCP_MACHINE, { level: 'v1beta2', version: 'v1.32.8' }), send: machineWrite },
  { name: 'upgrade the control plane to v1.33 (tags updated in the same edit)', next: () => kcpAt('v1.33.7-2', 'v1.33') },
  { name: 'CAPI adds a finalizer to the KCP mid-rollout', next: () => touch(stored.kcp), send: (n) => update(n, CAPI_CONTROLLER) },
  { name: 'shortcut: workers first, before the CP rollout completes (status still v1.32.8)', next: () => mdAt(WORKERS, 'v1.33.7-2'), deniedBy: ['workers-follow-control-plane'], says: { 'workers-follow-control-plane': ['runs (v1.32.8, spec.version v1.33.7-2)', 'wait until its status.version reaches v1.33.7-2'] } },
  // Step 2 of the seed: add the v1.34 entry; upgrade the control plane to v1.34.
  { name: 'add the v1.34 entry', next: () => catalogWith('v1.34.5-3') },
  { name: 'shortcut: second control-plane bump mid-rollout (status still v1.32.8)', next: () => kcpAt('v1.34.5-3', 'v1.34'), deniedBy: ['control-plane-minor-step', 'worker-skew'], says: { 'control-plane-minor-step': ['while a rollout is still in progress', 'status.version v1.32.8, spec.version v1.33.7-2', 'wait until status.version reaches v1.33.7-2'] } },
  { name: 'shortcut: remove v1.32.8 while the control plane still runs it', next: () => catalogWithout('v1.32.8'), deniedBy: ['catalog-in-use'], says: { 'catalog-in-use': ['KubeadmControlPlane cpaas-system/bm-workload-control-plane', `MachineDeployment cpaas-system/${WORKERS}`] } },
  { name: 'the control-plane rollout completes (status.version v1.33.7-2)', next: () => rolloutDone('v1.33.7-2'), send: (n) => ({ ...update(n, CAPI_CONTROLLER), subResource: 'status' }) },
  { name: 'shortcut: control plane to v1.34 leaving both v1.32 MDs two minors behind', next: () => kcpAt('v1.34.5-3', 'v1.34'), deniedBy: ['worker-skew'], says: { 'worker-skew': [`${GPU} (v1.32.7)`, `${WORKERS} (v1.32.8)`, `${SKEW_ANNOTATION}=2`] } },
  { name: 'the Cluster opts into n-2 worker skew (not a guarded object)', next: () => withAnnotations(stored.cluster, { [SKEW_ANNOTATION]: '2' }) },
  { name: 'upgrade the control plane to v1.34 with the opt-in', next: () => kcpAt('v1.34.5-3', 'v1.34') },
  { name: 'shortcut: workers to v1.34 before the v1.34 rollout completes', next: () => mdAt(GPU, 'v1.34.5-3'), deniedBy: ['workers-follow-control-plane'] },
  { name: 'shortcut: remove v1.33.7-2 while machines still run it (status.version)', next: () => catalogWithout('v1.33.7-2'), deniedBy: ['catalog-in-use'] },
  { name: 'the control-plane rollout completes (status.version v1.34.5-3)', next: () => rolloutDone('v1.34.5-3'), send: (n) => ({ ...update(n, CAPI_CONTROLLER), subResource: 'status' }) },
  // Step 3 of the seed: upgrade the worker MachineDeployments to v1.34.
  { name: 'shortcut: worker rollout with maxSurge 1', next: () => edit(mdAt(WORKERS, 'v1.34.5-3'), (o) => ((((o.spec as Obj).rollout as Obj).strategy as Obj).rollingUpdate = { maxSurge: 1, maxUnavailable: 0 })), deniedBy: ['max-surge-zero'] },
  { name: 'upgrade the workers MD to v1.34', next: () => mdAt(WORKERS, 'v1.34.5-3') },
  { name: 'upgrade the gpu MD (v1beta1) to v1.34', next: () => mdAt(GPU, 'v1.34.5-3') },
  { name: 'shortcut: downgrade a worker pool back to v1.33', next: () => mdAt(GPU, 'v1.33.7-2'), deniedBy: ['no-downgrade'] },
  { name: 'shortcut: control plane back to v1.33', next: () => kcpAt('v1.33.7-2', 'v1.33'), deniedBy: ['control-plane-minor-step'], says: { 'control-plane-minor-step': ['cannot downgrade the control plane'] } },
  { name: 'clean up: remove the unused v1.32 and v1.33 keys', next: () => catalogWithout('v1.32.7', 'v1.32.8', 'v1.33.7-2') },
]

describe('ACP cross-version upgrade v1.32 → v1.34, step by step', () => {
  it.each(steps)('$name', (step) => {
    const next = step.next()
    const req = (step.send ?? update)(next)
    const before = JSON.stringify([stored.kcp, stored.mds, stored.catalog])
    const d = evaluate(req, state, POLICY)
    const denials = d.denied.map(formatViolation)
    if (step.deniedBy === undefined) {
      expect(denials).toEqual([])
      expect(d.warnings.map(formatViolation)).toEqual([])
      store(next)
    } else {
      expect(d.allowed).toBe(false)
      expect([...new Set(d.denied.map((v) => v.rule))].sort()).toEqual([...step.deniedBy].sort())
      expect(JSON.stringify([stored.kcp, stored.mds, stored.catalog])).toBe(before)
    }
    for (const [rule, parts] of Object.entries(step.says ?? {})) {
      const texts = d.denied.filter((v) => v.rule === rule).map(formatViolation)
      expect(texts.length).toBeGreaterThan(0)
      for (const part of parts) for (const t of texts) expect(t).toContain(part)
    }
  })

  it('ends with everything on v1.34.5-3 and a catalog holding only what is used', () => {
    expect(state.controlPlane('cpaas-system', 'bm-workload-control-plane')).toMatchObject({ version: 'v1.34.5-3', statusVersion: 'v1.34.5-3' })
    expect(state.machineDeploymentsOfCluster('cpaas-system', 'bm-workload').map((m) => m.version)).toEqual(['v1.34.5-3', 'v1.34.5-3'])
    expect([...(state.catalog()?.entries.keys() ?? [])]).toEqual(['v1.34.5-3'])
  })
})
