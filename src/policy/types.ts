/**
 * @module policy/types
 * The policy as the engine sees it, after schema validation and defaulting.
 */
import type { RuleId } from '../rules/ids.js'

export type RuleAction = 'deny' | 'warn' | 'audit' | 'off'

export interface ComponentTags {
  readonly coredns?: readonly string[]
  readonly etcd?: readonly string[]
}

export interface Policy {
  readonly catalog: { readonly namespace: string; readonly name: string }
  readonly scope: {
    readonly infrastructureKinds: readonly string[]
    readonly exemptNamespaces: readonly string[]
  }
  readonly rules: Readonly<Record<RuleId, RuleAction>>
  readonly skew: {
    /** Allowed control-plane minus worker minor without opt-in. */
    readonly default: number
    /** Never allowed above this, whatever a Cluster asks for. */
    readonly maximum: number
    /** Cluster annotation whose integer value opts into a larger skew. */
    readonly optInAnnotation: string
  }
  readonly registryAnnotation: string
  /** version (with `v`) → release date (YYYY-MM-DD); empty turns release-order into a no-op. */
  readonly releaseDates: Readonly<Record<string, string>>
  /** Kubernetes minor (`v1.34`) → accepted CoreDNS / etcd image tags. */
  readonly componentTags: Readonly<Record<string, ComponentTags>>
  readonly bypass: {
    readonly annotation: string
    readonly reasonAnnotation: string
    readonly users: readonly string[]
    readonly groups: readonly string[]
  }
  readonly state: {
    /** What a rule that needs the cluster-state view does when the view is unavailable. */
    readonly onUnavailable: 'deny' | 'allow'
    /** A live cache older than this counts as unavailable. */
    readonly maxStalenessSeconds: number
  }
  /** The management cluster (preflight rule management-ready). */
  readonly management: {
    /** Controllers that must have finished rolling out before a workload rollout starts. */
    readonly deployments: readonly { readonly namespace: string; readonly name: string }[]
  }
  readonly mutation: {
    readonly enabled: boolean
    /** CREATE only: rewrite the v1beta1 KCP CRD default (maxSurge 1) to 0, with a warning. */
    readonly rewriteDefaultedKcpSurge: boolean
  }
}
