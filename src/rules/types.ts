/**
 * @module rules/types
 * A rule is a pure function from a RuleContext to Violations: no I/O, no logging, no throwing.
 */
import type { GuardedKind, GuardedObject } from '../objects/capi.js'
import type { Catalog } from '../objects/catalog.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import type { RuleId } from './ids.js'

/** Checks that are not one of the eleven rules but can still deny (see docs/rules.md). */
export type CheckId = RuleId | 'bypass' | 'request'

export type ViolationType = 'Invalid' | 'Forbidden' | 'Required' | 'NotFound'

export interface Violation {
  readonly rule: CheckId
  /** Dotted path in the object as the client sent it, e.g. spec.rolloutStrategy.rollingUpdate.maxSurge. */
  readonly field: string
  readonly type: ViolationType
  readonly value?: unknown
  /** What is wrong and why. */
  readonly message: string
  /** How to fix it. */
  readonly hint: string
  /** Findings a rule only ever warns about, whatever its action (e.g. pinned tags left unchanged). */
  readonly advisory?: boolean
  /**
   * The same finding as this rule's on the same field (a bad version string every version rule
   * sees): dropped when that rule's violation is denied, kept when it was bypassed or relaxed.
   */
  readonly duplicateOf?: CheckId
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE'

export interface GuardedTarget {
  readonly type: 'guarded'
  readonly kind: GuardedKind
  /** Stored object (UPDATE, DELETE). Its status is what is really running. */
  readonly old: GuardedObject | undefined
  /** Proposed object (CREATE, UPDATE). */
  readonly new: GuardedObject | undefined
}

export interface CatalogTarget {
  readonly type: 'catalog'
  readonly old: Catalog | undefined
  readonly new: Catalog | undefined
}

export type Target = GuardedTarget | CatalogTarget

export interface RuleContext<T extends Target = Target> {
  readonly operation: Operation
  readonly target: T
  readonly view: ClusterView
  readonly policy: Policy
}

export type Rule<T extends Target = Target> = (ctx: RuleContext<T>) => readonly Violation[]

export type TargetKind = GuardedKind | 'Catalog'

export interface RuleDefinition {
  readonly id: RuleId
  readonly appliesTo: readonly TargetKind[]
  /**
   * Needs the cluster-state view beyond the request itself (fails closed when it is unavailable).
   * A function when only some requests need it (a catalog edit that removes no key does not).
   */
  readonly needsState: boolean | ((ctx: RuleContext) => boolean)
  /**
   * Ratcheting: on UPDATE the rule may deny only when what this returns differs between the old
   * and the new object. Omitted: the rule judges changes itself (catalog rules).
   */
  readonly watches?: (obj: GuardedObject) => unknown
  readonly check: Rule
}
