/**
 * workers-healthy: an MD version change with one of its own Machines not Running, without a
 * healthy node, or being deleted (default: warn).
 *
 * ACP guide (Prerequisites): "All current nodes are healthy and Ready." A worker already down
 * counts against maxUnavailable: the rollout replaces fewer nodes at a time, or none.
 */
import { isMachineOfDeployment } from '../objects/lifecycle.js'
import { listNames, missingState, qualifiedName } from './common.js'
import { forbidden } from './field-path.js'
import { notPresent, owningClusterName, suppliedRolloutStart, unhealthyMachines } from './preflight.js'
import type { RuleDefinition } from './types.js'

export const workersHealthy: RuleDefinition = {
  id: 'workers-healthy',
  appliesTo: ['MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const start = suppliedRolloutStart(ctx)
    if (start === undefined) return []
    const { next, field, facts } = start
    if (!facts.has('Machine')) return [notPresent('workers-healthy', field, 'Machine', 'the health of the worker nodes is unknown')]
    const clusterName = owningClusterName(start)
    if (clusterName === undefined) return missingState(ctx, 'workers-healthy', 'spec.clusterName', `MachineDeployment ${qualifiedName(next)} names no cluster`, 'set spec.clusterName')
    const machines = facts.machinesOfCluster(next.namespace, clusterName).filter((m) => isMachineOfDeployment(m, next.name))
    const bad = unhealthyMachines(machines)
    if (bad.length === 0) return []
    return [
      forbidden(
        field,
        'workers-healthy',
        `${bad.length} of ${machines.length} Machines of MachineDeployment ${qualifiedName(next)} are not healthy: ${listNames(bad)}; they count against maxUnavailable`,
        `repair or remediate them first (kubectl -n ${next.namespace} get machines -l cluster.x-k8s.io/deployment-name=${next.name})`,
        next.version,
      ),
    ]
  },
}
