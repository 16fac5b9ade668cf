/**
 * management-ready: the management-side controllers named in the policy (Cluster API core, the
 * kubeadm control-plane and bootstrap providers, the bare-metal provider) have finished rolling
 * out before a workload rollout starts.
 *
 * ACP guide (Upgrade Sequence 1): "Trigger workload-cluster upgrades only after the
 * management-side controllers have rolled out and become Ready." and "a controller image swap
 * mid-rollout interrupts the plan secret state machine."
 */
import { deploymentProblem } from '../objects/lifecycle.js'
import { listNames } from './common.js'
import { forbidden } from './field-path.js'
import { advisory, notPresent, suppliedRolloutStart } from './preflight.js'
import type { RuleDefinition } from './types.js'

export const managementReady: RuleDefinition = {
  id: 'management-ready',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const start = suppliedRolloutStart(ctx)
    if (start === undefined) return []
    const { next, field, facts } = start
    if (ctx.policy.management.deployments.length === 0) return []
    if (!facts.has('Deployment')) return [notPresent('management-ready', field, 'Deployment', 'the rollout of the management-side controllers is unknown')]
    const missing: string[] = []
    const rolling: { readonly namespace: string; readonly name: string; readonly problem: string }[] = []
    for (const { namespace, name } of ctx.policy.management.deployments) {
      const d = facts.deployment(namespace, name)
      if (d === undefined) {
        missing.push(`${namespace}/${name}`)
        continue
      }
      const problem = deploymentProblem(d)
      if (problem !== undefined) rolling.push({ namespace, name, problem })
    }
    const missingText = missing.length === 0 ? '' : `; not found: ${listNames(missing)}`
    const first = rolling[0]
    if (first !== undefined) {
      const names = rolling.map((r) => `${r.namespace}/${r.name} (${r.problem})`)
      return [
        forbidden(field, 'management-ready', `the management-side controllers have not finished rolling out: ${listNames(names)}${missingText}`, `wait until they are (kubectl -n ${first.namespace} rollout status deployment ${first.name}), then change the version`, next.version),
      ]
    }
    if (missing.length > 0) {
      // A wrong name in the policy must not pass silently, nor block every upgrade.
      return [advisory(forbidden(field, 'management-ready', `management Deployments named in the policy do not exist: ${listNames(missing)}, so their rollout is not checked`, 'fix management.deployments in the policy to match your install'))]
    }
    return []
  },
}
