/**
 * @module bench/metamorphic
 * The metamorphic property of decision integrity (SPEC Round 2 "Whose object is this?" and
 * "Request identity"): on a request the engine denies, changing only fields that carry no
 * authority — labels, ownerReferences, an MD's spec.clusterName in an UPDATE, `object.kind` or
 * `apiVersion`, an `object` added to a DELETE, `oldObject` dropped from an UPDATE, an unparseable
 * copy of a version next to a valid one — never turns the denial into an allow.
 *
 * The bases are the fuzz suite's denied requests (arbitraries.deniedBases) plus ones that depend
 * on membership, over examples/state and a few decoy Clusters a bent link could point at: `decoy`
 * (registry address, opt-in skew 2, newest control plane), `noreg` (no registry address) and
 * `lagging` (workers two minors behind after a control-plane upgrade).
 */
import fc from 'fast-check'
import type { ReviewDeps } from '../src/admission/review.js'
import type { Policy } from '../src/policy/types.js'
import type { MemoryView } from '../src/state/memory-view.js'
import { defineOwn, deniedBases, viaJson, type Json } from './arbitraries.js'
import { admissionReview, CATALOG_KEYS, catalogObject, clusterObject, EXAMPLE_TARGET, kcpObject, mdObject, type Obj } from './bodies.js'

const { namespace: NS, cluster: CLUSTER } = EXAMPLE_TARGET
const LABEL = 'cluster.x-k8s.io/cluster-name'

/** Clusters a bent link may name: real ones, decoys, one that does not exist, and empty. */
export const LINK_TARGETS = [CLUSTER, 'decoy', 'noreg', 'lagging', 'no-such-cluster', ''] as const

/** The decoy objects added to examples/state for the metamorphic suite. */
export function decoyObjects(): Obj[] {
  const noreg = clusterObject({ namespace: NS, name: 'noreg' })
  delete ((noreg.metadata as Obj).annotations as Obj)['cpaas.io/registry-address']
  return [
    clusterObject({ namespace: NS, name: 'decoy', skewOptIn: true }),
    kcpObject({ namespace: NS, name: 'decoy-control-plane', cluster: 'decoy', version: 'v1.35.6-acp.1', statusVersion: 'v1.35.6-acp.1' }),
    mdObject({ namespace: NS, name: 'decoy-workers', cluster: 'decoy', version: 'v1.34.5-3' }),
    noreg,
    kcpObject({ namespace: NS, name: 'noreg-control-plane', cluster: 'noreg', version: 'v1.32.8', statusVersion: 'v1.32.8' }),
    clusterObject({ namespace: NS, name: 'lagging' }),
    kcpObject({ namespace: NS, name: 'lagging-control-plane', cluster: 'lagging', version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' }),
    mdObject({ namespace: NS, name: 'lagging-workers', cluster: 'lagging', version: 'v1.32.8' }),
  ]
}

/** examples/state (already in `view`) plus the decoys. */
export function metamorphicDeps(view: MemoryView, policy: Policy): ReviewDeps {
  for (const o of decoyObjects()) view.upsert(o)
  return { policy, view }
}

export interface MetamorphicBase {
  readonly name: string
  readonly rule: string
  readonly review: Obj
}

/** The fuzz suite's denied requests plus the membership-dependent ones. */
export function metamorphicBases(): readonly MetamorphicBase[] {
  const u = (n: number): string => `0000000${n}-feed-4bad-8000-0000000000${n}0`
  const lagging = (version: string): Obj => kcpObject({ namespace: NS, name: 'lagging-control-plane', cluster: 'lagging', version, statusVersion: 'v1.33.7-2', tagsFor: version })
  const noreg = (version: string): Obj => kcpObject({ namespace: NS, name: 'noreg-control-plane', cluster: 'noreg', version, statusVersion: 'v1.32.8', tagsFor: version })
  return [
    ...deniedBases(),
    { name: 'KCP upgrade leaves its workers two minors behind', rule: 'worker-skew', review: admissionReview({ uid: u(7), operation: 'UPDATE', oldObject: lagging('v1.33.7-2'), object: lagging('v1.34.5-3') }) },
    { name: 'KCP version change, Cluster without registry address', rule: 'registry-address', review: admissionReview({ uid: u(8), operation: 'UPDATE', oldObject: noreg('v1.32.8'), object: noreg('v1.33.7-2') }) },
    { name: 'catalog deleted while in use', rule: 'catalog-in-use', review: admissionReview({ uid: u(9), operation: 'DELETE', oldObject: catalogObject(CATALOG_KEYS), object: null }) },
    {
      name: 'MD far ahead of its control plane',
      rule: 'workers-follow-control-plane',
      review: admissionReview({ uid: u(5), operation: 'UPDATE', oldObject: mdObject({ namespace: NS, name: 'bm-workload-storage', cluster: CLUSTER, version: 'v1.32.8' }), object: mdObject({ namespace: NS, name: 'bm-workload-storage', cluster: CLUSTER, version: 'v1.34.5-3' }) }),
    },
  ]
}

export type BendOp = 'label' | 'owner' | 'clusterName' | 'kind' | 'apiVersion' | 'deleteObject' | 'dropOld' | 'oddVersion'

export interface Bend {
  readonly op: BendOp
  /** Which object(s): 0 object, 1 oldObject, 2 both. */
  readonly which: number
  /** Picks a value from the op's list. */
  readonly pick: number
}

const KINDS = [null, '', 'Cluster', 'ConfigMap', 'Secret', 'MachineDeployment', 'KubeadmControlPlane', 'Scale', 'kubeadmcontrolplane'] as const
const API_VERSIONS = [null, '', 'v1', 'cluster.x-k8s.io/v1beta1', 'cluster.x-k8s.io/v1beta2', 'controlplane.cluster.x-k8s.io/v1beta1', 'controlplane.cluster.x-k8s.io/v1beta2', 'controlplane.cluster.x-k8s.io/v1alpha4', 'autoscaling/v1'] as const
/** Unparseable copies of a valid version `v` (no leading v, NUL, case, truncation, garbage). */
const ODD_COPIES: readonly ((v: string) => unknown)[] = [(v) => v.slice(1), (v) => `${v}\u0000`, (v) => v.toUpperCase(), (v) => v.split('.').slice(0, 2).join('.'), () => 'latest', () => '', () => 42, () => null, (v) => ` ${v}`]

export const bend: fc.Arbitrary<Bend> = fc.record({
  op: fc.constantFrom<BendOp>('label', 'label', 'owner', 'clusterName', 'kind', 'apiVersion', 'deleteObject', 'dropOld', 'oddVersion', 'oddVersion'),
  which: fc.nat({ max: 2 }),
  pick: fc.nat({ max: 1000 }),
})

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)

function subjects(req: Obj, which: number): Obj[] {
  const picked = which === 0 ? [req.object] : which === 1 ? [req.oldObject] : [req.object, req.oldObject]
  return picked.filter(isObj)
}

function setOrDelete(target: Obj, key: string, value: string | null): void {
  if (value === null) delete target[key]
  else defineOwn(target, key, value)
}

/** Sets an unparseable copy in place of ONE version of a KCP that has two, or of an MD's one. */
function oddVersion(o: Obj, pick: number): void {
  const spec = isObj(o.spec) ? o.spec : undefined
  if (spec === undefined) return
  const copy = ODD_COPIES[pick % ODD_COPIES.length] ?? ((v: string) => v)
  if (o.kind === 'KubeadmControlPlane') {
    const status = isObj(o.status) ? o.status : undefined
    // Only next to a valid one: the other of spec.version / status.version stays.
    if (typeof spec.version !== 'string' || typeof status?.version !== 'string') return
    if (pick % 2 === 0) spec.version = copy(spec.version)
    else status.version = copy(status.version)
    return
  }
  const template = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec : undefined
  if (template !== undefined && typeof template.version === 'string') template.version = copy(template.version)
}

/** Applies the bends to a copy of a denied review; every bend leaves authoritative fields alone. */
export function applyBends(base: Obj, bends: readonly Bend[]): Json {
  const root = viaJson(base)
  const req = root.request as Obj
  const operation = req.operation
  for (const b of bends) {
    switch (b.op) {
      case 'label':
        for (const o of subjects(req, b.which)) {
          if (!isObj(o.metadata)) continue
          const labels = isObj(o.metadata.labels) ? o.metadata.labels : (o.metadata.labels = {})
          const target = LINK_TARGETS[b.pick % (LINK_TARGETS.length + 1)]
          if (target === undefined) delete labels[LABEL]
          else defineOwn(labels, LABEL, target)
        }
        break
      case 'owner':
        for (const o of subjects(req, b.which)) {
          if (!isObj(o.metadata)) continue
          const target = LINK_TARGETS[b.pick % (LINK_TARGETS.length + 1)]
          if (target === undefined) delete o.metadata.ownerReferences
          else o.metadata.ownerReferences = [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: target, uid: '00000000-0000-4000-8000-00000000c1c1', controller: true }]
        }
        break
      case 'clusterName': {
        // An MD's own link, changed in an UPDATE: judged against old and new, never only the new.
        const o = req.object
        if (operation !== 'UPDATE' || !isObj(o) || o.kind !== 'MachineDeployment' || !isObj(o.spec)) break
        const target = LINK_TARGETS[b.pick % LINK_TARGETS.length] ?? CLUSTER
        o.spec.clusterName = target
        if (isObj(o.spec.template) && isObj(o.spec.template.spec)) o.spec.template.spec.clusterName = target
        break
      }
      case 'kind':
        for (const o of subjects(req, b.which)) setOrDelete(o, 'kind', KINDS[b.pick % KINDS.length] ?? null)
        break
      case 'apiVersion':
        for (const o of subjects(req, b.which)) setOrDelete(o, 'apiVersion', API_VERSIONS[b.pick % API_VERSIONS.length] ?? null)
        break
      case 'deleteObject': {
        if (operation !== 'DELETE') break
        const old = isObj(req.oldObject) ? req.oldObject : {}
        const choices: Json[] = [viaJson(old) as Json, {}, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'x' } }, viaJson({ ...old, data: {} }) as Json, viaJson({ ...old, kind: 'KubeadmControlPlane' }) as Json]
        req.object = choices[b.pick % choices.length] ?? {}
        break
      }
      case 'dropOld':
        if (operation !== 'UPDATE') break
        if (b.pick % 2 === 0) delete req.oldObject
        else req.oldObject = null
        break
      case 'oddVersion':
        // The stored object's versions: what runs. (The new object's version is what is asked for.)
        if (isObj(req.oldObject)) oddVersion(req.oldObject, b.pick)
        break
    }
  }
  return root as Json
}

export const bends: fc.Arbitrary<readonly Bend[]> = fc.array(bend, { minLength: 1, maxLength: 5 })
