/**
 * release-order: where the policy lists release dates, a worker may not run a version released
 * later than the control plane's version (optional data; a no-op without dates).
 *
 * GKE: "Worker node pools can't be at a version that released chronologically later than the
 * cluster version. For example, if version 1.16.4 releases on a date after version
 * 1.28.0-gke.425, then you can't upgrade your cluster to version 1.28.0-gke.425 and leave a
 * worker node pool at version 1.16.4."
 */
import { dotted } from '../objects/unstructured.js'
import { controlPlaneOf, machineDeploymentsOf } from '../objects/links.js'
import { guardedChange, highestRunning, listNames, missingState, qualifiedName, versionChanged } from './common.js'
import { echo, forbidden } from './field-path.js'
import type { RuleDefinition, Violation, RuleContext } from './types.js'
import type { Policy } from '../policy/types.js'
import type { GuardedObject } from '../objects/capi.js'

const dateOf = (ctx: RuleContext, version: unknown): string | undefined => (typeof version === 'string' ? ctx.policy.releaseDates[version] : undefined)

/** Whether the policy lists any release date: asked twice per request, so no array of its keys. */
function hasReleaseDates(policy: Policy): boolean {
  for (const version in policy.releaseDates) if (Object.hasOwn(policy.releaseDates, version)) return true
  return false
}

export const releaseOrder: RuleDefinition = {
  id: 'release-order',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  // Without release dates the rule has nothing to check, so nothing to fail closed on.
  needsState: (ctx) => hasReleaseDates(ctx.policy),
  watches: (o) => o.version,
  check: (ctx): Violation[] => {
    const change = guardedChange(ctx)
    if (change === undefined || !hasReleaseDates(ctx.policy) || !versionChanged(ctx)) return []
    const obj = change.new
    const field = dotted(obj.paths.version)
    if (obj.clusterName === undefined) return []
    if (obj.kind === 'MachineDeployment') {
      const workerDate = dateOf(ctx, obj.version)
      if (workerDate === undefined) return []
      const kcp = controlPlaneOf(ctx.view, obj.namespace, obj.clusterName)
      if (kcp === undefined) return missingState(ctx, 'release-order', field, `no KubeadmControlPlane of cluster ${obj.namespace}/${obj.clusterName} in the cluster-state view`, 'create the control plane first, or include it in --state')
      const cp = highestRunning(kcp)
      const cpDate = dateOf(ctx, cp?.raw)
      if (cp === undefined || cpDate === undefined || workerDate <= cpDate) return []
      return [forbidden(field, 'release-order', `${echo(obj.version)} (released ${workerDate}) was released after the control plane's ${cp.raw} (${cpDate}) of ${qualifiedName(kcp)}`, 'pick a worker version released on or before the control plane version, or upgrade the control plane first', obj.version)]
    }
    const cpDate = dateOf(ctx, obj.version)
    if (cpDate === undefined) return []
    // An index loop, not flatMap or for…of (see worker-skew: the view's lists are frozen).
    const mds = machineDeploymentsOf(ctx.view, obj.namespace, obj.clusterName)
    const later: string[] = []
    for (let i = 0; i < mds.length; i++) {
      const md = mds[i] as GuardedObject
      const d = dateOf(ctx, md.version)
      if (d !== undefined && d > cpDate) later.push(`${md.name} (${echo(md.version)}, released ${d})`)
    }
    if (later.length === 0) return []
    return [forbidden(field, 'release-order', `${echo(obj.version)} (released ${cpDate}) is older than what these MachineDeployments run: ${listNames(later)}`, 'choose a control-plane version released after the workers\' versions, or move those workers first', obj.version)]
  },
}
