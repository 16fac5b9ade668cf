/**
 * @module engine/decision
 * A decision is plain data, like the apiserver's PolicyDecision: what was denied, warned,
 * audited and bypassed, and why nothing was judged when nothing was.
 */
import type { Violation } from '../rules/types.js'
import type { Operation } from '../rules/types.js'

export interface UserInfo {
  readonly username?: string
  readonly groups?: readonly string[]
}

/** The group/version/kind the API server routed the request as (request.kind). */
export interface RequestKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

export interface EngineRequest {
  readonly operation: Operation
  /**
   * What is judged: the kind the API server routed on (request.kind), never the object's own
   * `kind`. The CLI, which reads manifests, passes the manifest's kind as kubectl would route it.
   */
  readonly kind: RequestKind
  /** Plural resource (kubeadmcontrolplanes, machinedeployments, configmaps); needed for subresources. */
  readonly resource?: string
  readonly subResource?: string
  /** Namespace and name from the request envelope (set even when object is null). */
  readonly namespace?: string
  readonly name?: string
  /** Proposed object; null/undefined on DELETE. */
  readonly object: unknown
  /** Stored object; null/undefined on CREATE. */
  readonly oldObject: unknown
  readonly userInfo: UserInfo
}

/** Why a request was allowed without judging it. */
export type SkipReason =
  | 'not-guarded'
  | 'other-configmap'
  | 'exempt-namespace'
  | 'not-bare-metal'
  | 'delete'
  | 'status-subresource'
  | 'scale-of-machinedeployment'

export interface TargetRef {
  readonly kind: string
  readonly namespace: string
  readonly name: string
}

export interface Decision {
  readonly allowed: boolean
  /** Violations that deny (action deny). */
  readonly denied: readonly Violation[]
  /** Violations allowed with an admission warning (action warn, or advisory). */
  readonly warnings: readonly Violation[]
  /** Violations allowed, only logged and counted (action audit). */
  readonly audited: readonly Violation[]
  /** Violations skipped by an authorised bypass. */
  readonly bypassed: readonly Violation[]
  /** The reason annotation of an honoured bypass (logged with it). */
  readonly bypassReason?: string
  readonly skipped?: SkipReason
  readonly target?: TargetRef
  /** Rule ids that ran (for logs and metrics). */
  readonly evaluated: readonly string[]
}

export const emptyDecision = (skipped: SkipReason | undefined, target?: TargetRef): Decision => ({
  allowed: true,
  denied: [],
  warnings: [],
  audited: [],
  bypassed: [],
  evaluated: [],
  ...(skipped === undefined ? {} : { skipped }),
  ...(target === undefined ? {} : { target }),
})
