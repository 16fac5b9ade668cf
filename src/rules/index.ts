/**
 * @module rules/index
 * The registry: every rule, in the order their violations are reported.
 */
import { catalogInUse } from './catalog-in-use.js'
import { catalogKey } from './catalog-key.js'
import { catalogShape } from './catalog-shape.js'
import { controlPlaneMinorStep } from './control-plane-minor-step.js'
import type { RuleId } from './ids.js'
import { maxSurgeZero } from './max-surge-zero.js'
import { noDowngrade } from './no-downgrade.js'
import { pinnedComponentTags } from './pinned-component-tags.js'
import { registryAddress } from './registry-address.js'
import { releaseOrder } from './release-order.js'
import type { RuleDefinition } from './types.js'
import { workerSkew } from './worker-skew.js'
import { workersFollowControlPlane } from './workers-follow-control-plane.js'
import { controlPlaneHealthy } from './control-plane-healthy.js'
import { managementReady } from './management-ready.js'
import { managementVersion } from './management-version.js'
import { poolCapacity } from './pool-capacity.js'
import { workersHealthy } from './workers-healthy.js'

export const RULES: readonly RuleDefinition[] = [
  maxSurgeZero,
  catalogKey,
  catalogShape,
  catalogInUse,
  controlPlaneMinorStep,
  workersFollowControlPlane,
  workerSkew,
  noDowngrade,
  releaseOrder,
  registryAddress,
  pinnedComponentTags,
  managementReady,
  managementVersion,
  controlPlaneHealthy,
  workersHealthy,
  poolCapacity,
]

export const ruleById = (id: RuleId): RuleDefinition => {
  const rule = RULES.find((r) => r.id === id)
  if (rule === undefined) throw new Error(`no rule ${id}`)
  return rule
}
