/**
 * workers-follow-control-plane: an MD may not ask for a version newer than the lowest version the
 * control plane runs.
 *
 * ACP guide: "Upgrade the control plane Kubernetes version (replaces all control-plane nodes one
 * at a time)." then "Upgrade worker nodes to the target Kubernetes version". GKE: "Cluster
 * version must be greater than or equal to the worker node pool version."
 */
import { dotted } from '../objects/unstructured.js'
import { controlPlaneOf } from '../objects/links.js'
import { compareVersions, type Version } from '../versions/version.js'
import { guardedChange, lowestRunning, missingState, qualifiedName, readVersion, unreadableRunning, versionChanged } from './common.js'
import { echo, forbidden } from './field-path.js'
import { catalogPatchCommand } from './catalog-key.js'
import type { RuleContext, RuleDefinition } from './types.js'

/**
 * What to do first, without proposing a step the control plane cannot make: it moves one minor
 * at a time, so a worker version two minors ahead is reached over several upgrades, and one in
 * another major never.
 */
function upgradeFirstHint(ctx: RuleContext, want: Version, cp: Version, field: string): string {
  const keep = `or set ${field} to ${cp.raw} or older`
  if (want.major !== cp.major) return `the control plane never changes major version in place; ${keep}`
  if (want.minor > cp.minor + 1) {
    return `upgrade the control plane one minor at a time (v${cp.major}.${cp.minor + 1} first, each until its status.version reaches it) up to ${want.raw}, ${keep}`
  }
  const catalog = ctx.view.catalog()
  if (catalog !== undefined && !catalog.entries.has(want.raw)) {
    // No machine can run a version the catalog cannot resolve: that comes first.
    return `${want.raw} is not a catalog key yet: add it (${catalogPatchCommand(ctx.policy.catalog, want.raw)}), upgrade the control plane to it and wait until its status.version reaches it, ${keep}`
  }
  return `upgrade the control plane first and wait until its status.version reaches ${want.raw}, ${keep}`
}

export const workersFollowControlPlane: RuleDefinition = {
  id: 'workers-follow-control-plane',
  appliesTo: ['MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx) || change.new.version === undefined) return []
    const md = change.new
    const field = dotted(md.paths.version)
    const parsed = readVersion(md, 'workers-follow-control-plane')
    if (!parsed.ok) return [...parsed.violations]
    if (md.clusterName === undefined) return missingState(ctx, 'workers-follow-control-plane', 'spec.clusterName', 'the MachineDeployment names no cluster', 'set spec.clusterName')
    const kcp = controlPlaneOf(ctx.view, md.namespace, md.clusterName)
    if (kcp === undefined) {
      return missingState(ctx, 'workers-follow-control-plane', field, `no KubeadmControlPlane of cluster ${md.namespace}/${md.clusterName} in the cluster-state view`, 'create the control plane first, or include it in --state')
    }
    // The lowest PARSEABLE of its spec and status: one unreadable value never hides the other.
    const cp = lowestRunning(kcp)
    if (cp === undefined) return [unreadableRunning(kcp, 'workers-follow-control-plane', field, md.version, 'the control plane')]
    if (compareVersions(parsed.version, cp) <= 0) return []
    return [
      forbidden(field, 'workers-follow-control-plane', `workers may not run ${parsed.version.raw}, newer than the control plane ${qualifiedName(kcp)} runs (${cp.raw}, spec.version ${echo(kcp.version)}); workers are upgraded after the control-plane rollout completes`, upgradeFirstHint(ctx, parsed.version, cp, field), md.version),
    ]
  },
}
