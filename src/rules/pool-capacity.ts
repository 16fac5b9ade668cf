/**
 * pool-capacity: the MachineInventoryPool of a KCP or MD must hold its desired replicas
 * (available + allocated >= replicas, else deny); hosts preparing, reprovisioning or unavailable
 * get a warning.
 *
 * ACP guide (Prerequisites): "The relevant pools have enough capacity to replace one node at a
 * time without falling below the desired replica count." and (Troubleshooting) "Pool capacity
 * exhausted mid-rollout". With maxSurge 0 old and new nodes never coexist, so the pool needs
 * exactly the desired count: the hosts in use (allocated) plus the free ones (available).
 */
import { desiredReplicas, infrastructureTemplateName } from '../objects/lifecycle.js'
import { missingState, qualifiedName } from './common.js'
import { forbidden } from './field-path.js'
import { advisory, notPresent, suppliedRolloutStart } from './preflight.js'
import type { RuleDefinition } from './types.js'

export const poolCapacity: RuleDefinition = {
  id: 'pool-capacity',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const start = suppliedRolloutStart(ctx)
    if (start === undefined) return []
    const { next, field, facts } = start
    for (const kind of ['BaremetalMachineTemplate', 'MachineInventoryPool'] as const) {
      if (!facts.has(kind)) return [notPresent('pool-capacity', field, kind, 'pool capacity is unknown')]
    }
    const templateName = infrastructureTemplateName(next)
    if (templateName === undefined) return missingState(ctx, 'pool-capacity', field, `${next.kind} ${qualifiedName(next)} names no infrastructure template`, 'set the infrastructureRef')
    const template = facts.machineTemplate(next.namespace, templateName)
    if (template === undefined) return missingState(ctx, 'pool-capacity', field, `BaremetalMachineTemplate ${next.namespace}/${templateName} is not in the cluster-state view`, 'create it, or include it in --state')
    if (template.poolName === undefined) return missingState(ctx, 'pool-capacity', field, `BaremetalMachineTemplate ${next.namespace}/${templateName} names no pool (spec.template.spec.machineInventoryPoolRef)`, 'set the pool reference')
    const pool = facts.inventoryPool(next.namespace, template.poolName)
    if (pool === undefined) return missingState(ctx, 'pool-capacity', field, `MachineInventoryPool ${next.namespace}/${template.poolName} is not in the cluster-state view`, 'create it, or include it in --state')
    const c = pool.counters
    if (c === undefined) return missingState(ctx, 'pool-capacity', field, `MachineInventoryPool ${qualifiedName(pool)} has reported no status yet`, 'wait for the provider to report the pool counters')
    const replicas = desiredReplicas(next)
    const counters = `available ${c.available}, allocated ${c.allocated}, preparing ${c.preparing}, reprovisioning ${c.reprovisioning}, unavailable ${c.unavailable}, total ${c.total}`
    if (c.available + c.allocated < replicas) {
      const short = replicas - c.available - c.allocated
      return [
        forbidden(field, 'pool-capacity', `pool ${qualifiedName(pool)} cannot hold ${replicas} replicas during the rollout: available + allocated = ${c.available + c.allocated} (${counters})`, `add ${short} MachineInventor${short === 1 ? 'y' : 'ies'} to the pool (kubectl -n ${pool.namespace} edit machineinventorypool ${pool.name}), or wait for in-flight hosts to drain`, next.version),
      ]
    }
    if (c.preparing + c.reprovisioning + c.unavailable > 0) {
      return [advisory(forbidden(field, 'pool-capacity', `pool ${qualifiedName(pool)} has hosts in flight or unavailable (${counters}); the rollout may wait for them`, `check kubectl -n ${pool.namespace} get machineinventorypool ${pool.name} -o yaml before starting`))]
    }
    return []
  },
}
