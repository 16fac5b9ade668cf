/**
 * @module plan/plan
 * `planUpgrade(view, policy, request)`: the ordered steps of a safe upgrade of one cluster, as
 * pure data. It follows the ACP guide ("Upgrade Sequence", "Update the Image Catalog", "Upgrade
 * the Control Plane", "Upgrade Workers", "Cross-Version Upgrades", "Verification") and the skew
 * rules of GKE on bare metal:
 *
 * 1. fix what the rules would block and the planner can fix: the Cluster's registry annotation,
 *    maxSurge 0 (and maxUnavailable ≥ 1) on the KCP and bare-metal MDs;
 * 2. add the catalog keys the plan uses ("Ensure the target Kubernetes version is present in
 *    elemental-image-catalog"), then check the catalog;
 * 3. move the control plane one minor at a time ("Kubernetes only supports single-minor upgrades
 *    for the control plane"), using the newest catalog key of each intermediate minor and the exact
 *    target last, with the pinned CoreDNS/etcd tags in the same edit; wait after each hop until
 *    status.version reaches it;
 * 4. move the workers: once at the end when the allowed skew lets them stay behind through the
 *    hops (n-2 opt-in), or to the control plane's version before the hop that would leave them
 *    out of skew (n-1, interleaved);
 * 5. verify.
 *
 * The plan is then replayed through the engine (plan/simulate); a step that would be denied makes
 * the planner refuse, naming the rule, instead of printing a plan that cannot run.
 *
 * Missing catalog keys: they become catalog steps with a placeholder image (never a valid image
 * reference, so the webhook rejects the command if it is run unedited), and an intermediate minor
 * with no key at all gets a placeholder version `v1.33.<patch>` (or the version given with
 * `via`). With `requireCatalog` the planner refuses instead, listing the keys to add.
 */
import { preflightSteps } from './preflight-steps.js'
import { UpgradeGuardError } from '../errors.js'
import type { UserInfo } from '../engine/decision.js'
import type { GuardedObject } from '../objects/capi.js'
import type { Catalog } from '../objects/catalog.js'
import type { Policy } from '../policy/types.js'
import { allowedSkew, isBareMetal } from '../rules/common.js'
import { formatViolation } from '../rules/field-path.js'
import type { ClusterView } from '../state/cluster-view.js'
import { compareVersions, maxVersion, minorLabel, parseVersion, tryParseVersion, type Version } from '../versions/version.js'
import { newestKeyOfMinor } from '../objects/catalog.js'
import { catalogSteps, imagePlaceholder, imageRepository } from './catalog-steps.js'
import { catalogAddCommand } from './commands.js'
import { concrete, placeholderVersion, standInVersion, withoutStatus, type Target, type Working } from './draft.js'
import { fixSteps } from './fix-steps.js'
import { planRollout, verifyStep } from './rollout-steps.js'
import { copyClusterState, replay } from './simulate.js'
import type { Plan, PlanResult, PlanStep, Refusal, WorkerOrder } from './types.js'

export interface PlanRequest {
  readonly namespace: string
  readonly cluster: string
  /** Target version; the leading `v` may be left out here (it is added). */
  readonly to: string
  /** Refuse when a catalog key is missing instead of planning its addition. */
  readonly requireCatalog?: boolean
  /** Versions to use for intermediate minors instead of the newest catalog key of each. */
  readonly via?: readonly string[]
  /** Who the replay judges the steps as (bypass rights); nobody special by default. */
  readonly user?: UserInfo
}

export const PLANNER_USER: UserInfo = { username: 'upgrade-guard-plan', groups: [] }

function parseTarget(to: string): Version {
  const parsed = parseVersion(to, { allowMissingV: true })
  if (!parsed.ok) throw new UpgradeGuardError('UG_ERR_USAGE', `--to: "${to}" ${parsed.reason}`, { field: '--to' })
  return parsed.version
}

interface Start {
  readonly catalog: Catalog
  readonly spec: Version
  readonly status: Version | undefined
  readonly mds: readonly GuardedObject[]
}

/** What makes a plan impossible before any step is chosen; the reasons, or what the plan starts from. */
function checkStart(view: ClusterView, policy: Policy, req: PlanRequest, kcp: GuardedObject, to: Version): Start | { reasons: string[]; from?: string } {
  const catalogRef = policy.catalog
  const catalog = view.catalog()
  if (catalog === undefined) {
    return { reasons: [`the image catalog ConfigMap ${catalogRef.namespace}/${catalogRef.name} is not in the state: no version can be resolved to an OS image (include it: kubectl -n ${catalogRef.namespace} get configmap ${catalogRef.name} -o yaml)`] }
  }
  const spec = tryParseVersion(kcp.version)
  if (spec === undefined) {
    return { reasons: [`KubeadmControlPlane ${kcp.namespace}/${kcp.name} has spec.version ${JSON.stringify(kcp.version)}, which is not a version: fix it before planning`] }
  }
  const status = tryParseVersion(kcp.statusVersion)
  const from = spec.raw
  if (to.major !== spec.major) {
    return { from, reasons: [`cannot change the major version from ${spec.raw} to ${to.raw}: Kubernetes upgrades stay within a major version`] }
  }
  const running = maxVersion(spec, status) ?? spec
  if (compareVersions(to, running) < 0) {
    return { from, reasons: [`${to.raw} is lower than the control plane's ${running.raw} (KubeadmControlPlane ${kcp.namespace}/${kcp.name}): downgrades are not a rollback path on bare metal; repair forward with a newer build, or restore etcd from a backup`] }
  }
  const mds = view.machineDeploymentsOfCluster(req.namespace, req.cluster)
  const ahead = mds.flatMap((md) => {
    const v = tryParseVersion(md.version)
    return v !== undefined && compareVersions(v, to) > 0 ? [`${md.name} (${v.raw})`] : []
  })
  if (ahead.length > 0) {
    return { from, reasons: [`MachineDeployments run versions newer than ${to.raw}: ${ahead.join(', ')}; workers may not be downgraded (no-downgrade): plan to ${to.raw} or newer`] }
  }
  // CAPI refuses maxSurge 0 below 3 replicas, and max-surge-zero refuses anything else: no rollout can start.
  if (isBareMetal(kcp, policy) && policy.rules['max-surge-zero'] !== 'off' && typeof kcp.replicas === 'number' && kcp.replicas < 3 && compareVersions(to, spec) !== 0) {
    return {
      from,
      reasons: [`KubeadmControlPlane ${kcp.namespace}/${kcp.name} has ${kcp.replicas} replica(s): a bare-metal control plane rolls with maxSurge 0, which CAPI allows only with 3 replicas; the control plane must be scaled to 3 (with ${3 - kcp.replicas} more host(s) in its pool) before it can roll, then plan again`],
    }
  }
  return { catalog, spec, status, mds }
}

/** Control-plane hops: one minor at a time, the newest key (or `via`) of each intermediate minor, the exact target last. */
function chooseHops(catalog: Catalog, spec: Version, to: Version, viaList: readonly string[]): Target[] {
  const via = new Map<string, Version>()
  for (const v of viaList) {
    const parsed = parseVersion(v, { allowMissingV: true })
    if (!parsed.ok) throw new UpgradeGuardError('UG_ERR_USAGE', `--via: "${v}" ${parsed.reason}`, { field: '--via' })
    const p = parsed.version
    if (p.major !== spec.major || p.minor <= spec.minor || p.minor >= to.minor) {
      throw new UpgradeGuardError('UG_ERR_USAGE', `--via: ${p.raw} is not in an intermediate minor between ${spec.raw} and ${to.raw}`, { field: '--via' })
    }
    via.set(minorLabel(p), p)
  }
  const hops: Target[] = []
  for (let minor = spec.minor + 1; minor < to.minor; minor++) {
    const chosen = via.get(`v${spec.major}.${minor}`) ?? newestKeyOfMinor(catalog, spec.major, minor)
    hops.push(chosen === undefined ? placeholderVersion(spec.major, minor) : concrete(chosen))
  }
  if (compareVersions(to, spec) > 0) hops.push(concrete(to))
  return hops
}

export function planUpgrade(view: ClusterView, policy: Policy, req: PlanRequest): PlanResult {
  const to = parseTarget(req.to)
  const ref = { namespace: req.namespace, name: req.cluster }
  const qualified = `${req.namespace}/${req.cluster}`
  const cluster = view.cluster(req.namespace, req.cluster)
  if (cluster === undefined) throw new UpgradeGuardError('UG_ERR_INPUT', `--cluster: Cluster ${qualified} is not in the state (kubectl get clusters.cluster.x-k8s.io -A -o yaml)`, { field: '--cluster' })
  const kcp = view.controlPlaneOfCluster(req.namespace, req.cluster)
  if (kcp === undefined) throw new UpgradeGuardError('UG_ERR_INPUT', `--cluster: no KubeadmControlPlane of Cluster ${qualified} in the state (kubectl get kubeadmcontrolplanes -A -o yaml)`, { field: '--cluster' })

  const refuse = (reasons: readonly string[], catalogKeysToAdd: readonly string[] = [], from?: string): Refusal => ({
    refused: true,
    cluster: ref,
    to: to.raw,
    ...(from === undefined ? {} : { from }),
    reasons,
    catalogKeysToAdd,
  })

  const catalogRef = policy.catalog
  const checked = checkStart(view, policy, req, kcp, to)
  if ('reasons' in checked) return refuse(checked.reasons, [], checked.from)
  const { catalog, spec, status, mds } = checked
  const from = spec.raw
  const hops = chooseHops(catalog, spec, to, req.via ?? [])

  const skew = allowedSkew(cluster, policy)
  // The objects as the steps change them, in order: fixes first, then the version changes.
  const working: Working = { kcp: withoutStatus(kcp.raw), mds: new Map(mds.map((md) => [md.name, withoutStatus(md.raw)])) }
  const fixes = fixSteps({ cluster, kcp, mds, catalog, policy }, working)
  const rollout = planRollout({ kcp, mds, spec, status, to, hops, skew: skew.allowed, policy, clusterName: req.cluster }, working)

  // Catalog keys every bare-metal version change uses.
  const used = new Map<string, Target>()
  for (const change of rollout.changes) if (change.bareMetal) used.set(change.target.text, change.target)
  const missing = [...used.values()].filter((t) => !catalog.entries.has(t.text))
  if (missing.length > 0 && req.requireCatalog === true) {
    const repo = imageRepository(catalog)
    return refuse(
      missing.map((t) =>
        t.version === undefined
          ? `the catalog ${catalogRef.namespace}/${catalogRef.name} has no v${t.major}.${t.minor} key, and the control plane must pass through v${t.major}.${t.minor}: add one (${catalogAddCommand(catalogRef, t.text, imagePlaceholder(repo, t.text))}), or name one with --via`
          : `${t.text} is not a key of the catalog ${catalogRef.namespace}/${catalogRef.name}: add it first (${catalogAddCommand(catalogRef, t.text, imagePlaceholder(repo, t.text))})`,
      ),
      missing.map((t) => t.text),
      from,
    )
  }

  const prep = catalogSteps(catalog, policy, missing, [...used.values()])
  // Preflight (SPEC "Upgrade lifecycle"): what would deny starting the rollout comes first.
  const preflight = preflightSteps(view, policy, { clusterRef: qualified, kcp, firstHop: hops[0]?.text, mds, workerTarget: to.raw })
  const steps: PlanStep[] = [...preflight.steps, ...fixes, ...prep.steps, ...rollout.steps, verifyStep(req.namespace, req.cluster, to, kcp)].map((s, i) => ({ number: i + 1, ...s }))

  // Replay every step through the engine: print only a plan the webhook allows step by step.
  const replacements = new Map<string, string>(prep.standIns)
  for (const t of used.values()) if (t.version === undefined) replacements.set(t.text, standInVersion(t))
  const denial = replay(steps, copyClusterState(view, policy, req.namespace, req.cluster), policy, req.user ?? PLANNER_USER, replacements)
  if (denial !== undefined) {
    return refuse(
      denial.denied.map((v) => `step ${denial.step.number} (${denial.step.title}) would be denied by a rule the planner cannot plan around: ${formatViolation(v)}`),
      [],
      from,
    )
  }

  const placeholders = [...new Set(steps.flatMap((s) => s.placeholders))]
  const notes = [
    'Before you start (ACP guide, Upgrade Sequence 1-2): upgrade the ACP platform on the global cluster, then the Distribution Version of this workload cluster; every node must be healthy and Ready, and each pool needs the capacity to replace one node at a time.',
    workerNote(rollout.order, skew, spec, to),
    ...(placeholders.length > 0
      ? [`This plan has placeholders (${placeholders.join(', ')}): replace them before running the steps that carry them${hops.some((h) => h.version === undefined) ? ', or plan again with --via naming the build of each missing minor' : ''}. An image placeholder is not a valid image reference on purpose: the webhook rejects the command if it is run unedited.`]
      : []),
    ...rollout.notes,
    ...preflight.notes,
  ]
  if (steps.length === 1 + preflight.steps.length) notes.push(`Cluster ${qualified} already runs ${to.raw} everywhere: only the verification is left.`)
  const plan: Plan = {
    refused: false,
    cluster: ref,
    controlPlane: kcp.name,
    from,
    to: to.raw,
    hops: hops.map((h) => h.text),
    skew,
    workerOrder: rollout.order,
    catalogKeysToAdd: missing.map((t) => t.text),
    placeholders,
    notes,
    steps,
  }
  return plan
}

function workerNote(order: WorkerOrder, skew: { allowed: number; source: string }, spec: Version, to: Version): string {
  const allowed = `Allowed worker skew: ${skew.allowed} minor(s) (${skew.source}).`
  if (order === 'interleaved') return `${allowed} Workers move to the control plane's version before each control-plane hop that would leave them more than ${skew.allowed} minor(s) behind.`
  if (order === 'after-control-plane') {
    return to.minor - spec.minor > 1
      ? `${allowed} Workers stay where they are through the control-plane hops and move once, after the control plane reaches ${to.raw}.`
      : `${allowed} Workers move after the control plane reaches ${to.raw}.`
  }
  return `${allowed} No MachineDeployment needs a version change.`
}
