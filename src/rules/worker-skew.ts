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
import { maxVersion, tryParseVersion, type Version } from '../versions/version.js'
import { allowedSkew, guardedChange, listNames, missingState, qualifiedName, readVersion, versionChanged } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleContext, RuleDefinition, Violation } from './types.js'
import type { GuardedObject } from '../objects/capi.js'

/** Minors a worker is behind the control plane; Infinity across majors. */
const behind = (cp: Version, worker: Version): number => (cp.major === worker.major ? cp.minor - worker.minor : cp.major > worker.major ? Infinity : -Infinity)

function optInHint(ctx: RuleContext, clusterName: string): string {
  const { optInAnnotation, maximum } = ctx.policy.skew
  return maximum > ctx.policy.skew.default ? `, or opt the Cluster into a larger skew (kubectl annotate cluster ${clusterName} ${optInAnnotation}=${maximum})` : ''
}

function checkWorkers(ctx: RuleContext, md: GuardedObject): Violation[] {
  const field = dotted(md.paths.version)
  const parsed = readVersion(md, 'worker-skew')
  if (!parsed.ok) return [...parsed.violations]
  if (md.clusterName === undefined) return missingState(ctx, 'worker-skew', 'spec.clusterName', 'the MachineDeployment names no cluster', 'set spec.clusterName')
  const kcp = ctx.view.controlPlaneOfCluster(md.namespace, md.clusterName)
  if (kcp === undefined) return missingState(ctx, 'worker-skew', field, `no KubeadmControlPlane of cluster ${md.namespace}/${md.clusterName} in the cluster-state view`, 'create the control plane first, or include it in --state')
  const cp = maxVersion(tryParseVersion(kcp.version), tryParseVersion(kcp.statusVersion))
  if (cp === undefined) return []
  const skew = allowedSkew(ctx.view.cluster(md.namespace, md.clusterName), ctx.policy)
  const gap = behind(cp, parsed.version)
  if (gap <= skew.allowed) return []
  const lowest = cp.minor - skew.allowed
  return [
    forbidden(field, 'worker-skew', `${parsed.version.raw} is ${gap === Infinity ? 'a major version' : `${gap} minors`} behind the control plane ${qualifiedName(kcp)} (${cp.raw}); allowed skew is ${skew.allowed} (${skew.source})`, `set ${field} to v${cp.major}.${lowest}.x or newer${optInHint(ctx, md.clusterName)}`, md.version),
  ]
}

function checkControlPlane(ctx: RuleContext, kcp: GuardedObject): Violation[] {
  const field = dotted(kcp.paths.version)
  const parsed = readVersion(kcp, 'worker-skew')
  if (!parsed.ok) return [...parsed.violations]
  if (kcp.clusterName === undefined) {
    return missingState(ctx, 'worker-skew', 'metadata.labels[cluster.x-k8s.io/cluster-name]', 'cannot tell which Cluster owns this KubeadmControlPlane', 'set the cluster.x-k8s.io/cluster-name label')
  }
  const skew = allowedSkew(ctx.view.cluster(kcp.namespace, kcp.clusterName), ctx.policy)
  const late = ctx.view.machineDeploymentsOfCluster(kcp.namespace, kcp.clusterName).flatMap((md) => {
    const v = tryParseVersion(md.version)
    return v !== undefined && behind(parsed.version, v) > skew.allowed ? [`${md.name} (${v.raw})`] : []
  })
  if (late.length === 0) return []
  const floor = `v${parsed.version.major}.${parsed.version.minor - skew.allowed}`
  return [
    forbidden(field, 'worker-skew', `upgrading to ${parsed.version.raw} would leave MachineDeployments more than ${skew.allowed} minor${skew.allowed === 1 ? '' : 's'} behind (allowed skew ${skew.allowed}: ${skew.source}): ${listNames(late)}`, `upgrade those MachineDeployments to ${floor} or newer first${optInHint(ctx, kcp.clusterName)}`, kcp.version),
  ]
}

export const workerSkew: RuleDefinition = {
  id: 'worker-skew',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx) || change.next.version === undefined) return []
    return change.next.kind === 'MachineDeployment' ? checkWorkers(ctx, change.next) : checkControlPlane(ctx, change.next)
  },
}
