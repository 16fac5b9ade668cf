/**
 * worker-skew: control-plane minor minus worker minor stays within the allowed skew: 1 by
 * default, 2 when the Cluster opts in (annotation), never above the policy maximum. Checked on
 * MD edits and on KCP upgrades (which would leave MDs behind).
 *
 * GKE: "a worker node pool version can be up to two minor versions behind the cluster (control
 * plane) version. This n-2 version skew is available as a (Preview) capability. This Preview
 * capability is enabled with an annotation in the cluster configuration file. If you don't
 * enable this Preview capability, the maximum version skew between a worker node pool and the
 * cluster is one minor version."
 */
import { dotted } from '../objects/unstructured.js'
import { newestKeyOfMinor } from '../objects/catalog.js'
import { clusterOf, controlPlaneOf, machineDeploymentsOf } from '../objects/links.js'
import type { Version } from '../versions/version.js'
import { allowedSkew, guardedChange, highestRunning, listNames, missingState, qualifiedName, readVersion, storedVersion, unreadableRunning, versionChanged } from './common.js'
import { catalogPatchCommand } from './catalog-key.js'
import { echo, forbidden } from './field-path.js'
import type { RuleContext, RuleDefinition, Violation } from './types.js'
import type { GuardedObject } from '../objects/capi.js'

/** Minors a worker is behind the control plane; Infinity across majors. */
const behind = (cp: Version, worker: Version): number => (cp.major === worker.major ? cp.minor - worker.minor : cp.major > worker.major ? Infinity : -Infinity)

function optInHint(ctx: RuleContext, clusterName: string): string {
  const { optInAnnotation, maximum } = ctx.policy.skew
  return maximum > ctx.policy.skew.default ? `, or opt the Cluster into a larger skew (kubectl annotate cluster ${clusterName} ${optInAnnotation}=${maximum})` : ''
}

/** How to reach a minor: its newest catalog key, or (none yet) the command that adds one. */
function minorTarget(ctx: RuleContext, major: number, minor: number): string {
  const catalog = ctx.view.catalog()
  const key = catalog === undefined ? undefined : newestKeyOfMinor(catalog, major, minor)
  return key !== undefined ? `${key.raw} (or newer)` : `a v${major}.${minor} version or newer (the catalog has no v${major}.${minor} key yet: ${catalogPatchCommand(ctx.policy.catalog, `v${major}.${minor}.<patch>`)})`
}

function checkWorkers(ctx: RuleContext, md: GuardedObject): Violation[] {
  const field = dotted(md.paths.version)
  const parsed = readVersion(md, 'worker-skew')
  if (!parsed.ok) return [...parsed.violations]
  if (md.clusterName === undefined) return missingState(ctx, 'worker-skew', 'spec.clusterName', 'the MachineDeployment names no cluster', 'set spec.clusterName')
  const kcp = controlPlaneOf(ctx.view, md.namespace, md.clusterName)
  if (kcp === undefined) return missingState(ctx, 'worker-skew', field, `no KubeadmControlPlane of cluster ${md.namespace}/${md.clusterName} in the cluster-state view`, 'create the control plane first, or include it in --state')
  const cp = highestRunning(kcp)
  if (cp === undefined) return [unreadableRunning(kcp, 'worker-skew', field, md.version, 'the control plane')]
  const skew = allowedSkew(clusterOf(ctx.view, md.namespace, md.clusterName), ctx.policy)
  const gap = behind(cp, parsed.version)
  if (gap <= skew.allowed) return []
  const lowest = cp.minor - skew.allowed
  return [
    forbidden(field, 'worker-skew', `${parsed.version.raw} is ${gap === Infinity ? 'a major version' : `${gap} minors`} behind the control plane ${qualifiedName(kcp)} (${cp.raw}); allowed skew is ${skew.allowed} (${skew.source})`, `set ${field} to ${minorTarget(ctx, cp.major, lowest)}${optInHint(ctx, md.clusterName)}`, md.version),
  ]
}

function checkControlPlane(ctx: RuleContext, kcp: GuardedObject): Violation[] {
  const field = dotted(kcp.paths.version)
  const parsed = readVersion(kcp, 'worker-skew')
  if (!parsed.ok) return [...parsed.violations]
  if (kcp.clusterName === undefined) {
    return missingState(ctx, 'worker-skew', field, 'cannot tell which Cluster owns this KubeadmControlPlane: no Cluster names it in spec.controlPlaneRef and the stored object carries no cluster-name label or Cluster ownerReference', 'create the Cluster first (or include it in --state)')
  }
  const skew = allowedSkew(clusterOf(ctx.view, kcp.namespace, kcp.clusterName), ctx.policy)
  // An index loop, not flatMap or for…of: the view's lists are frozen, and V8 walks a frozen
  // array's iterator through the generic builtin, one result object per MachineDeployment.
  const mds = machineDeploymentsOf(ctx.view, kcp.namespace, kcp.clusterName)
  const late: string[] = []
  for (let i = 0; i < mds.length; i++) {
    const md = mds[i] as GuardedObject
    if (md.version === undefined) continue // no version pinned: nothing to leave behind
    const v = storedVersion(md.version)
    // An unreadable worker version is never taken as in skew.
    if (v === undefined) late.push(`${md.name} (unreadable version ${echo(md.version)})`)
    else if (behind(parsed.version, v) > skew.allowed) late.push(`${md.name} (${v.raw})`)
  }
  if (late.length === 0) return []
  const floor = minorTarget(ctx, parsed.version.major, parsed.version.minor - skew.allowed)
  return [
    forbidden(field, 'worker-skew', `upgrading to ${parsed.version.raw} would leave MachineDeployments more than ${skew.allowed} minor${skew.allowed === 1 ? '' : 's'} behind (allowed skew ${skew.allowed}: ${skew.source}): ${listNames(late)}`, `upgrade those MachineDeployments to ${floor} first${optInHint(ctx, kcp.clusterName)}`, kcp.version),
  ]
}

export const workerSkew: RuleDefinition = {
  id: 'worker-skew',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx) || change.new.version === undefined) return []
    return change.new.kind === 'MachineDeployment' ? checkWorkers(ctx, change.new) : checkControlPlane(ctx, change.new)
  },
}
