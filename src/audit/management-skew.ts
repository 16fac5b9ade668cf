/**
 * @module audit/management-skew
 * Workload clusters more than one minor behind the management cluster. GKE, "Version skew":
 * "the admin cluster can be at most one minor version ahead of its managed clusters." A workload
 * control plane left two minors behind is out of support, and the management cluster cannot be
 * upgraded again until it catches up. Only the audit reports this (an edit that keeps a cluster
 * behind changes nothing about it); the edit-time rule is `management-version` (issue 13).
 */
import type { GuardedObject } from '../objects/capi.js'
import type { Catalog } from '../objects/catalog.js'
import { lowestRunning, qualifiedName } from '../rules/common.js'
import { newestOfMinor } from '../rules/control-plane-minor-step.js'
import type { Violation } from '../rules/types.js'

export const MANAGEMENT_SKEW_RULE = 'management-version'

/** How far the management cluster may be ahead of its workload clusters, in minors. */
export const MANAGEMENT_SKEW = 1

export interface MinorVersion {
  readonly major: number
  readonly minor: number
  readonly raw: string
}

/**
 * Reads a `/version` gitVersion (`v1.32.3`, `v1.31.4+k3s1`, `v1.30.2-eks-1234`): only major and
 * minor matter here, so build metadata and vendor suffixes are accepted.
 */
export function parseManagementVersion(gitVersion: string): MinorVersion | undefined {
  const m = /^v?(\d{1,6})\.(\d{1,6})(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(gitVersion.trim())
  if (m === null) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), raw: gitVersion.trim() }
}

/** Same-shape violation as a rule's (so every format prints it alike); `rule` is widened by the audit. */
export type SkewViolation = Omit<Violation, 'rule'> & { readonly rule: typeof MANAGEMENT_SKEW_RULE }

/** The finding for one workload control plane, or undefined when it is within the skew. */
export function managementSkew(kcp: GuardedObject, management: MinorVersion, catalog: Catalog | undefined, clusterName: string | undefined): SkewViolation | undefined {
  const running = lowestRunning(kcp)
  if (running === undefined) return undefined
  const sameMajor = running.major === management.major
  const behind = sameMajor ? management.minor - running.minor : running.major < management.major ? Infinity : -Infinity
  if (behind <= MANAGEMENT_SKEW) return undefined
  const cluster = clusterName === undefined ? `control plane ${qualifiedName(kcp)}` : `cluster ${kcp.namespace}/${clusterName}`
  const gap = behind === Infinity ? 'a major version' : `${behind} minors`
  const next = sameMajor ? newestOfMinor(catalog, running.major, running.minor + 1) : undefined
  const fieldName = 'spec.version'
  return {
    rule: MANAGEMENT_SKEW_RULE,
    field: fieldName,
    type: 'Forbidden',
    value: kcp.version,
    message: `${cluster} runs ${running.raw}, ${gap} behind the management cluster (${management.raw}); the management cluster may be at most ${MANAGEMENT_SKEW} minor ahead of its workload clusters`,
    hint: next === undefined ? 'rebuild or migrate this cluster: a major version cannot be upgraded across' : `upgrade the control plane one minor at a time (set ${fieldName} to ${next} first), then its workers; do not upgrade the management cluster further until then`,
  }
}
