/**
 * workers-follow-control-plane: an MD may not ask for a version newer than the lowest version the
 * control plane runs.
 *
 * ACP guide: "Upgrade the control plane Kubernetes version (replaces all control-plane nodes one
 * at a time)." then "Upgrade worker nodes to the target Kubernetes version". GKE: "Cluster
 * version must be greater than or equal to the worker node pool version."
 */
import { dotted } from '../objects/unstructured.js'
import { compareVersions } from '../versions/version.js'
import { guardedChange, lowestRunning, missingState, qualifiedName, readVersion, versionChanged } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleDefinition } from './types.js'

export const workersFollowControlPlane: RuleDefinition = {
  id: 'workers-follow-control-plane',
  appliesTo: ['MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx) || change.next.version === undefined) return []
    const md = change.next
    const field = dotted(md.paths.version)
    const parsed = readVersion(md, 'workers-follow-control-plane')
    if (!parsed.ok) return [...parsed.violations]
    if (md.clusterName === undefined) return missingState(ctx, 'workers-follow-control-plane', 'spec.clusterName', 'the MachineDeployment names no cluster', 'set spec.clusterName')
    const kcp = ctx.view.controlPlaneOfCluster(md.namespace, md.clusterName)
    if (kcp === undefined) {
      return missingState(ctx, 'workers-follow-control-plane', field, `no KubeadmControlPlane of cluster ${md.namespace}/${md.clusterName} in the cluster-state view`, 'create the control plane first, or include it in --state')
    }
    const cp = lowestRunning(kcp)
    if (cp === undefined || compareVersions(parsed.version, cp) <= 0) return []
    const target = typeof kcp.version === 'string' ? kcp.version : '?'
    return [
      forbidden(field, 'workers-follow-control-plane', `workers may not run ${parsed.version.raw}, newer than the control plane ${qualifiedName(kcp)} runs (${cp.raw}, spec.version ${target}); workers are upgraded after the control-plane rollout completes`, `upgrade the control plane first and wait until its status.version reaches ${parsed.version.raw}, or set ${field} to ${cp.raw} or older`, md.version),
    ]
  },
}
