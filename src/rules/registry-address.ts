/**
 * registry-address: a bare-metal version change needs the owning Cluster to carry the
 * `cpaas.io/registry-address` annotation (configurable): the provider rewrites the registry of
 * each catalog image with it.
 *
 * ACP guide (Troubleshooting, "Rollout stuck on the first new node"): "confirm the new key is in
 * elemental-image-catalog and that the Cluster carries cpaas.io/registry-address."
 */
import { dotted } from '../objects/unstructured.js'
import { clusterOf } from '../objects/links.js'
import { guardedChange, missingState, versionChanged } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleDefinition } from './types.js'

export const registryAddress: RuleDefinition = {
  id: 'registry-address',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx) || change.new.version === undefined) return []
    const obj = change.new
    const field = dotted(obj.paths.version)
    const annotation = ctx.policy.registryAnnotation
    if (obj.clusterName === undefined) {
      const why = obj.kind === 'MachineDeployment' ? 'it names no spec.clusterName' : 'no Cluster names it in spec.controlPlaneRef and the stored object carries no cluster-name label or Cluster ownerReference'
      return missingState(ctx, 'registry-address', field, `cannot tell which Cluster owns ${obj.kind} ${obj.namespace}/${obj.name}: ${why}`, obj.kind === 'MachineDeployment' ? 'set spec.clusterName' : 'create the Cluster first (or include it in --state)')
    }
    // obj.clusterName is the authoritative link (objects/links), never a label of this edit.
    const cluster = clusterOf(ctx.view, obj.namespace, obj.clusterName)
    if (cluster === undefined) return missingState(ctx, 'registry-address', field, `Cluster ${obj.namespace}/${obj.clusterName} is not in the cluster-state view`, 'create the Cluster first, or include it in --state')
    if ((cluster.annotations[annotation] ?? '').trim() !== '') return []
    return [forbidden(field, 'registry-address', `Cluster ${obj.namespace}/${obj.clusterName} lacks the ${annotation} annotation, so the provider cannot resolve the new OS image`, `kubectl -n ${obj.namespace} annotate cluster ${obj.clusterName} ${annotation}=<registry host:port>`, obj.version)]
  },
}
