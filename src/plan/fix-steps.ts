/**
 * @module plan/fix-steps
 * What the rules would block and the planner can fix before any version changes: the Cluster's
 * registry annotation (registry-address), and maxSurge 0 / maxUnavailable ≥ 1 on the KCP and
 * bare-metal MDs (max-surge-zero), each at the path of its API version. None of these edits
 * starts a rollout.
 *
 * ACP guide, Prerequisites: "Both KubeadmControlPlane.spec.rolloutStrategy.rollingUpdate.maxSurge
 * = 0 and MachineDeployment.spec.strategy.rollingUpdate.maxSurge = 0 are set".
 */
import type { ClusterInfo, GuardedObject } from '../objects/capi.js'
import type { Catalog } from '../objects/catalog.js'
import { dotted, getPath } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { isBareMetal } from '../rules/common.js'
import { parseIntOrPercent } from '../rules/max-surge-zero.js'
import { registryHost } from './catalog-steps.js'
import { annotateClusterCommand, mergePatchCommand } from './commands.js'
import { draft, merge, nest, setPath, type Draft, type Mutable, type Working } from './draft.js'

const isZeroAmount = (value: unknown): boolean => parseIntOrPercent(value)?.n === 0

export interface FixInput {
  readonly cluster: ClusterInfo
  readonly kcp: GuardedObject
  readonly mds: readonly GuardedObject[]
  readonly catalog: Catalog
  readonly policy: Policy
}

/** What the rules would block and the planner can fix first: registry annotation, rollout strategies. */
export function fixSteps(input: FixInput, working: Working): Draft[] {
  const { cluster, kcp, mds, catalog, policy } = input
  const steps: Draft[] = []

  const annotation = policy.registryAnnotation
  if ((cluster.annotations[annotation] ?? '').trim() === '') {
    const value = '<registry host:port>'
    const obj = structuredClone(cluster.raw) as Mutable
    setPath(obj, ['metadata', 'annotations', annotation], value)
    const host = registryHost(catalog)
    steps.push(
      draft('cluster', `Annotate Cluster ${cluster.namespace}/${cluster.name} with ${annotation}`, {
        commands: [annotateClusterCommand(cluster.namespace, cluster.name, annotation, value)],
        notes: [
          `The provider resolves catalog images through the platform registry named by this annotation; without it the first replacement machine never gets its image (ACP guide, Troubleshooting).${host === undefined ? '' : ` The catalog images use ${host}.`}`,
        ],
        objects: [obj],
        placeholders: [value],
      }),
    )
  }

  if (isBareMetal(kcp, policy) && !isZeroAmount(kcp.maxSurge)) {
    const patch = nest(kcp.paths.maxSurge, 0)
    if (getPath(kcp.raw, kcp.paths.strategy) === undefined) merge(patch, nest(kcp.paths.strategyType, 'RollingUpdate'))
    steps.push(
      draft('strategy', `Set maxSurge 0 on KubeadmControlPlane ${kcp.namespace}/${kcp.name}`, {
        commands: [mergePatchCommand('kubeadmcontrolplane', kcp.namespace, kcp.name, patch)],
        notes: [`${dotted(kcp.paths.maxSurge)} is ${JSON.stringify(kcp.maxSurge) ?? 'unset'}: bare metal does not over-provision physical hosts, so control-plane machines must be replaced delete-then-add. This edit starts no rollout.`],
        objects: [structuredClone(merge(working.kcp, structuredClone(patch)))],
      }),
    )
  }
  for (const md of mds) {
    if (!isBareMetal(md, policy) || md.strategyType === 'OnDelete') continue
    const unavailable = parseIntOrPercent(md.maxUnavailable)
    const unavailableOk = unavailable !== undefined && unavailable.n > 0
    const obj = working.mds.get(md.name)
    if (obj === undefined || (isZeroAmount(md.maxSurge) && unavailableOk)) continue
    const patch = nest(md.paths.rollingUpdate, { maxSurge: 0, maxUnavailable: unavailableOk ? md.maxUnavailable : 1 })
    if (getPath(md.raw, md.paths.strategy) === undefined) merge(patch, nest(md.paths.strategyType, 'RollingUpdate'))
    steps.push(
      draft('strategy', `Set maxSurge 0${unavailableOk ? '' : ' and maxUnavailable 1'} on MachineDeployment ${md.namespace}/${md.name}`, {
        commands: [mergePatchCommand('machinedeployment', md.namespace, md.name, patch)],
        notes: [`Bare-metal pools cannot over-provision: workers are replaced within the maxUnavailable budget (raise maxUnavailable, not maxSurge, for more parallel replacements). This edit starts no rollout.`],
        objects: [structuredClone(merge(obj, structuredClone(patch)))],
      }),
    )
  }

  return steps
}
