/**
 * @module rules/preflight
 * What the five preflight rules share: when they judge (an UPDATE that starts a version rollout
 * — never a CREATE, a DELETE or a metadata-only UPDATE), which Cluster an object belongs to
 * (the authoritative links: Cluster.spec.controlPlaneRef for a KCP, the stored spec.clusterName
 * for an MD), and the "not present" warning for a provider kind the state does not hold.
 */
import type { GuardedObject } from '../objects/capi.js'
import { machineProblem, type LifecycleKind, type MachineRecord } from '../objects/lifecycle.js'
import { dotted, jsonEqual } from '../objects/unstructured.js'
import { notFound } from './field-path.js'
import type { RuleId } from './ids.js'
import type { LifecycleFacts } from '../state/lifecycle-view.js'
import type { GuardedTarget, RuleContext, Violation } from './types.js'

export interface RolloutStart {
  readonly old: GuardedObject
  readonly next: GuardedObject
  /** Dotted path of the version field in the object as sent. */
  readonly field: string
}

type StartingTarget = GuardedTarget & { readonly old: GuardedObject; readonly new: GuardedObject }

/** The guarded target (itself, narrowed) of an UPDATE whose version differs from the stored one. */
function startingTarget(ctx: RuleContext): StartingTarget | undefined {
  if (ctx.operation !== 'UPDATE' || ctx.target.type !== 'guarded') return undefined
  const { old, new: next } = ctx.target
  if (old === undefined || next === undefined || next.version === undefined || jsonEqual(old.version, next.version)) return undefined
  return ctx.target as StartingTarget
}

/**
 * The edit that starts a version rollout: an UPDATE whose version differs from the stored one.
 * A CREATE has no machines to judge yet; everything else is ratcheted away.
 */
export function rolloutStart(ctx: RuleContext): RolloutStart | undefined {
  const t = startingTarget(ctx)
  return t === undefined ? undefined : { old: t.old, next: t.new, field: dotted(t.new.paths.version) }
}

/**
 * A rollout start in a view that holds lifecycle facts: what the four rules that judge Machines,
 * hosts, pools and Deployments begin with. A snapshot with no lifecycle object at all leaves them
 * silent (state/lifecycle-view "not supplied"). Built in one literal (no copy of a RolloutStart).
 */
export function suppliedRolloutStart(ctx: RuleContext): (RolloutStart & { readonly facts: LifecycleFacts }) | undefined {
  const t = startingTarget(ctx)
  if (t === undefined) return undefined
  const facts = ctx.view.lifecycle()
  return facts.isSupplied() ? { old: t.old, next: t.new, field: dotted(t.new.paths.version), facts } : undefined
}

/** The machines that are not healthy, as `name (why)` for a message. */
export function unhealthyMachines(machines: readonly MachineRecord[]): string[] {
  return machines.flatMap((m) => {
    const problem = machineProblem(m)
    return problem === undefined ? [] : [`${m.name} (${problem})`]
  })
}

/** The Cluster the object belongs to, by the links an edit cannot bend. */
export function owningClusterName(start: RolloutStart): string | undefined {
  // The engine judges each Cluster membership it decided (objects/links: controlPlaneRef, then
  // the stored label/owner; spec.clusterName for an MD) as its own target: old and new carry it.
  return start.next.clusterName
}

const WHERE = 'the cluster-state view'

/** A kind the rule needs is not installed / not in the snapshot: say so (warn), never deny. */
export function notPresent(rule: RuleId, field: string, kind: LifecycleKind | string, consequence: string): Violation {
  return { ...notFound(field, rule, undefined, `cannot check: ${kind} is not present in ${WHERE} (not installed, or left out of the snapshot), so ${consequence}`, `install the provider, or include ${kind} objects in --state`), advisory: true }
}

/** An advisory finding: never more than a warning, whatever the rule's action. */
export const advisory = (v: Violation): Violation => ({ ...v, advisory: true })
