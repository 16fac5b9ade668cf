/**
 * @module plan/types
 * An upgrade plan is plain data: numbered steps, each with the commands an operator runs, the
 * objects those commands leave behind (so the plan can be replayed through the engine) and the
 * rollouts a wait step waits for.
 */
import type { Unstructured } from '../objects/unstructured.js'

export type StepKind =
  /** Add a key to the image catalog. */
  | 'catalog'
  /** Look, do not change: confirm something before going on. */
  | 'check'
  /** Annotate the Cluster (registry address). */
  | 'cluster'
  /** Fix a KCP/MD rollout strategy (maxSurge 0, maxUnavailable ≥ 1) before any version change. */
  | 'strategy'
  /** Move the control plane (KCP spec.version, with pinned CoreDNS/etcd tags) one hop. */
  | 'control-plane'
  /** Move one MachineDeployment (spec.template.spec.version). */
  | 'workers'
  /** Wait until rollouts complete. */
  | 'wait'
  /** The seed's "Verification" commands. */
  | 'verify'

/** A rollout a wait step waits for. For a KCP, completion means status.version == version. */
export interface Rollout {
  readonly kind: 'KubeadmControlPlane' | 'MachineDeployment'
  readonly namespace: string
  readonly name: string
  readonly version: string
}

export interface PlanStep {
  /** 1-based, in order. */
  readonly number: number
  readonly kind: StepKind
  readonly title: string
  /** Shell commands, run in order (kubectl against the management cluster unless noted). */
  readonly commands: readonly string[]
  readonly notes: readonly string[]
  /**
   * What the step's command leaves in the API server, as full manifests without status: the
   * proposed objects to judge (UPDATE of the stored ones). Empty for check, wait and verify steps.
   */
  readonly objects: readonly Unstructured[]
  /** Wait steps: the rollouts that complete before the next step may start. */
  readonly waitFor: readonly Rollout[]
  /** Placeholder strings in this step's commands and objects that the operator must replace. */
  readonly placeholders: readonly string[]
}

export interface ClusterRef {
  readonly namespace: string
  readonly name: string
}

export type WorkerOrder =
  /** Workers move once, after the last control-plane hop (the skew allows them to stay behind). */
  | 'after-control-plane'
  /** Workers move to the control plane's version before a later control-plane hop. */
  | 'interleaved'
  /** No MachineDeployment needs a version change. */
  | 'none'

export interface Plan {
  readonly refused: false
  readonly cluster: ClusterRef
  readonly controlPlane: string
  /** KCP spec.version at the start. */
  readonly from: string
  readonly to: string
  /** The control-plane versions, one hop at a time (empty when the control plane is already there). */
  readonly hops: readonly string[]
  readonly skew: { readonly allowed: number; readonly source: string }
  readonly workerOrder: WorkerOrder
  /** Catalog keys the plan adds (may contain placeholders such as `v1.33.<patch>`). */
  readonly catalogKeysToAdd: readonly string[]
  /** Every placeholder of every step. A plan without placeholders runs as printed. */
  readonly placeholders: readonly string[]
  readonly notes: readonly string[]
  readonly steps: readonly PlanStep[]
}

export interface Refusal {
  readonly refused: true
  readonly cluster: ClusterRef
  readonly to: string
  readonly from?: string
  /** Each a full sentence: why no safe plan exists, and what to do. */
  readonly reasons: readonly string[]
  /** When the refusal is about the catalog: the keys to add first. */
  readonly catalogKeysToAdd: readonly string[]
}

export type PlanResult = Plan | Refusal
