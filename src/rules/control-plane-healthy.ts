/**
 * control-plane-healthy: a KCP version change needs every control-plane Machine Running with a
 * healthy node, and none being deleted.
 *
 * ACP guide (Prerequisites): "All current nodes are healthy and Ready." With maxSurge 0 CAPI
 * deletes a Machine before it creates its replacement: starting a rollout while a control-plane
 * node is already down takes a healthy one away next, and etcd loses quorum.
 */
import { isMachineOfControlPlane } from '../objects/lifecycle.js'
import { listNames, missingState, qualifiedName } from './common.js'
import { forbidden } from './field-path.js'
import { notPresent, owningClusterName, suppliedRolloutStart, unhealthyMachines } from './preflight.js'
import type { RuleDefinition } from './types.js'

export const controlPlaneHealthy: RuleDefinition = {
  id: 'control-plane-healthy',
  appliesTo: ['KubeadmControlPlane'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const start = suppliedRolloutStart(ctx)
    if (start === undefined) return []
    const { next, field, facts } = start
    if (!facts.has('Machine')) return [notPresent('control-plane-healthy', field, 'Machine', 'the health of the control-plane nodes is unknown')]
    const clusterName = owningClusterName(start)
    if (clusterName === undefined) return missingState(ctx, 'control-plane-healthy', field, `no Cluster names KubeadmControlPlane ${qualifiedName(next)}`, 'create the Cluster (spec.controlPlaneRef), or include it in --state')
    const machines = facts.machinesOfCluster(next.namespace, clusterName).filter((m) => isMachineOfControlPlane(m, next.name))
    if (machines.length === 0) return missingState(ctx, 'control-plane-healthy', field, `no control-plane Machine of cluster ${next.namespace}/${clusterName} in the cluster-state view`, 'wait until CAPI has created them, or include them in --state')
    const bad = unhealthyMachines(machines)
    if (bad.length === 0) return []
    return [
      forbidden(
        field,
        'control-plane-healthy',
        `${bad.length} of ${machines.length} control-plane Machines of ${next.namespace}/${clusterName} are not healthy: ${listNames(bad)}; with maxSurge 0 CAPI deletes a healthy one next`,
        `repair or remediate them first (kubectl -n ${next.namespace} get machines -l cluster.x-k8s.io/control-plane,cluster.x-k8s.io/cluster-name=${clusterName}), then change the version`,
        next.version,
      ),
    ]
  },
}
