/**
 * @module engine/evaluate
 * The engine: `evaluate(request, view, policy)` applies scope, ratcheting, bypass and each
 * rule's action, and returns one Decision. No I/O, deterministic. The webhook and the CLI both
 * call it; neither re-implements a rule.
 */
import { jsonEqual } from '../objects/unstructured.js'
import type { Policy, RuleAction } from '../policy/types.js'
import { clip, formatViolation, forbidden, notFound } from '../rules/field-path.js'
import { RULES } from '../rules/index.js'
import type { RuleContext, RuleDefinition, Target, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { bypassProblems, readBypass } from './bypass.js'
import { emptyDecision, type Decision, type EngineRequest, type TargetRef } from './decision.js'
import { resolveTarget } from './scope.js'

const targetKind = (t: Target): string => (t.type === 'catalog' ? 'Catalog' : t.kind)

const NO_RULES: ReadonlySet<string> = new Set()
/**
 * The empty list a Decision shares when a request has no finding of a sort (Decisions are
 * read-only). Not frozen: V8 walks a frozen array's for…of through the generic iterator, one
 * object per step, in every reader of the Decision (measured: ~370 sampled bytes per request).
 */
const NONE: readonly Violation[] = []

/** The rules that apply to a kind, in RULES order: filtered once per kind, not per request. */
const RULES_BY_KIND = new Map<string, readonly RuleDefinition[]>()

function rulesFor(kind: string): readonly RuleDefinition[] {
  let rules = RULES_BY_KIND.get(kind)
  if (rules === undefined) RULES_BY_KIND.set(kind, (rules = RULES.filter((rule) => rule.appliesTo.some((k) => k === kind))))
  return rules
}

/** The rules a policy runs on a kind (its action is not off), and their ids in the same order. */
interface EnabledRules {
  readonly rules: readonly RuleDefinition[]
  readonly ids: readonly string[]
}

/**
 * Resolved once per policy and kind, not per request (a policy is never changed in place: a
 * reload makes a new one). `ids` is what a Decision reports as evaluated when no rule is
 * ratcheted away, shared by those Decisions (they are read-only).
 */
const ENABLED = new WeakMap<Policy, Map<string, EnabledRules>>()

function enabledRules(policy: Policy, kind: string): EnabledRules {
  let byKind = ENABLED.get(policy)
  if (byKind === undefined) ENABLED.set(policy, (byKind = new Map()))
  let enabled = byKind.get(kind)
  if (enabled === undefined) {
    const rules = rulesFor(kind).filter((rule) => policy.rules[rule.id] !== 'off')
    byKind.set(kind, (enabled = { rules, ids: rules.map((rule) => rule.id) }))
  }
  return enabled
}

/** On UPDATE a rule may only deny when what it watches changed (never deadlock controllers). */
function isRatchetedAway(rule: RuleDefinition, ctx: RuleContext): boolean {
  if (ctx.operation !== 'UPDATE' || rule.watches === undefined || ctx.target.type !== 'guarded') return false
  const { old, new: next } = ctx.target
  if (old === undefined || next === undefined) return false
  return jsonEqual(rule.watches(old), rule.watches(next))
}

/** The "cannot check" findings, one per rule; merged into one per action before they are reported. */
const unavailableFindings = new WeakSet<Violation>()

function unavailableViolation(rule: RuleDefinition, ctx: RuleContext): Violation[] {
  if (ctx.policy.state.onUnavailable === 'allow') return []
  const reason = ctx.view.status().reason ?? 'not synced yet'
  const v = notFound('(state)', rule.id, undefined, `cannot check: the cluster-state view is unavailable (${reason})`, 'retry in a few seconds, when upgrade-guard has caught up; an admin may set state.onUnavailable: allow to fail open')
  unavailableFindings.add(v)
  return [v]
}

/**
 * One "cannot check" finding naming every rule it stands for: the reason is said once, not once
 * per rule. `vs` is the engine's own fresh list: returned as it is when there is nothing to merge.
 */
function mergeUnavailable(vs: readonly Violation[]): readonly Violation[] {
  let count = 0
  for (const v of vs) if (unavailableFindings.has(v)) count++
  if (count <= 1) return vs
  const merged = vs.filter((v) => unavailableFindings.has(v))
  const first = merged[0] as Violation
  const one: Violation = { ...first, message: first.message.replace(/^cannot check:/, `cannot check ${merged.map((v) => v.rule).join(', ')}:`) }
  return vs.flatMap((v) => (v === first ? [one] : unavailableFindings.has(v) ? [] : [v]))
}

/** The findings that are not a copy of a standing denial (`standing`: `rule field` keys). */
function withoutCopies(vs: readonly Violation[], standing: ReadonlySet<string>): readonly Violation[] {
  if (standing.size === 0) return vs
  return vs.filter((v) => v.duplicateOf === undefined || !standing.has(`${v.duplicateOf} ${v.field}`))
}

/** The action a finding gets: bypass and request problems always deny; advisory ones at most warn. */
function actionOf(v: Violation, policy: Policy): RuleAction {
  if (v.rule === 'bypass' || v.rule === 'request') return 'deny'
  const action = policy.rules[v.rule]
  return action === 'deny' && v.advisory === true ? 'warn' : action
}

/**
 * A rule against every Cluster the object may belong to (normally one): every finding stands,
 * so where old and new links disagree the stricter verdict wins. Copies are dropped.
 */
function checkEveryLink(rule: RuleDefinition, ctx: RuleContext, variants: readonly Target[]): readonly Violation[] {
  if (variants.length <= 1) return rule.check(ctx)
  const out: Violation[] = []
  const seen = new Set<string>()
  for (const target of variants) {
    for (const v of rule.check({ ...ctx, target })) {
      const key = formatViolation(v)
      if (seen.has(key)) continue
      seen.add(key)
      out.push(v)
    }
  }
  return out
}

/** An honoured bypass is never silent: the user sees what was skipped and the reason logged. */
function bypassNotice(rules: readonly string[], reason: string | undefined, req: EngineRequest, policy: Policy): Violation {
  const who = JSON.stringify(clip(req.userInfo.username ?? ''))
  const why = reason === undefined ? '' : ` (reason: ${JSON.stringify(clip(reason))})`
  return forbidden(`metadata.annotations[${policy.bypass.annotation}]`, 'bypass', `bypass honoured for user ${who}: ${rules.join(', ')} skipped${why}`, `remove the ${policy.bypass.annotation} annotation once the break-glass change is done`)
}

export function evaluate(req: EngineRequest, view: ClusterView, policy: Policy): Decision {
  const resolved = resolveTarget(req, view, policy)
  if (resolved.kind === 'skip') return emptyDecision(resolved.reason, resolved.ref)
  if (resolved.kind === 'reject') {
    // A request upgrade-guard cannot judge (unreadable object, a /scale it cannot look up):
    // denied, unless the rule it was for is relaxed by the policy.
    const decision = emptyDecision(undefined, resolved.ref)
    const v = resolved.violation
    const action = actionOf(v, policy)
    if (action === 'deny') return { ...decision, allowed: false, denied: [v] }
    if (action === 'warn') return { ...decision, warnings: [v] }
    return action === 'audit' ? { ...decision, audited: [v] } : decision
  }
  const ctx: RuleContext = { operation: req.operation, target: resolved.target, view, policy }
  const kind = targetKind(resolved.target)
  const stateAvailable = view.status().available
  // Most requests find nothing: no list of findings is made for them (see the early return below).
  let found: Violation[] | undefined
  const { rules, ids } = enabledRules(policy, kind)
  // The ids that ran: the shared list, unless the ratchet drops a rule (then a list of this request's own).
  let ran: string[] | undefined
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as RuleDefinition
    if (isRatchetedAway(rule, ctx)) {
      ran ??= ids.slice(0, i)
      continue
    }
    ran?.push(rule.id)
    const needsState = typeof rule.needsState === 'function' ? rule.needsState(ctx) : rule.needsState
    const vs = needsState && !stateAvailable ? unavailableViolation(rule, ctx) : checkEveryLink(rule, ctx, resolved.variants)
    for (const v of vs) (found ??= []).push(v)
  }

  const evaluated = ran ?? ids
  const bypass = readBypass(resolved.annotated, resolved.previous, req.userInfo, policy)
  // Nothing found and no bypass asked for: nothing to sort, drop or merge.
  if (found === undefined && bypass === undefined) return judged(true, NONE, NONE, NONE, NONE, undefined, resolved.ref, evaluated)
  const findings: readonly Violation[] = found ?? NONE
  // A bypass is "used" only for findings it would turn from a denial into an allow (worked out only when there is one).
  const problems = bypass === undefined ? [] : bypassProblems(bypass, new Set(findings.filter((v) => actionOf(v, policy) === 'deny').map((v) => v.rule)), req.userInfo, policy)
  const honoured: ReadonlySet<string> = bypass !== undefined && bypass.authorised && problems.length === 0 ? bypass.rules : NO_RULES

  // The bypass problems deny first (bypassProblems returns a list of its own, so it is extended).
  const denied: Violation[] = problems
  // The other sorts are made only when something is sorted into them.
  let warnings: Violation[] | undefined
  let audited: Violation[] | undefined
  let bypassed: Violation[] | undefined
  for (const v of findings) {
    const action = honoured.has(v.rule) ? 'bypassed' : actionOf(v, policy)
    if (action === 'bypassed') (bypassed ??= []).push(v)
    else if (action === 'deny') denied.push(v)
    else if (action === 'warn') (warnings ??= []).push(v)
    else if (action === 'audit') (audited ??= []).push(v)
  }
  // One report for one bad value: drop the copies of a finding whose owner rule's denial stands
  // (the keys are made only when some finding is a copy: most denials have none).
  const hasCopies = denied.length > 0 && findings.some((v) => v.duplicateOf !== undefined)
  const standing: ReadonlySet<string> = hasCopies ? new Set(denied.map((v) => `${v.rule} ${v.field}`)) : NO_RULES
  const finalDenied = mergeUnavailable(withoutCopies(denied, standing))
  const reason = bypassed === undefined ? undefined : bypass?.reason
  const warned = warnings === undefined ? NONE : mergeUnavailable(withoutCopies(warnings, standing))
  return judged(
    finalDenied.length === 0,
    finalDenied,
    bypassed === undefined ? warned : [bypassNotice([...new Set(bypassed.map((v) => v.rule))], reason, req, policy), ...warned],
    audited === undefined ? NONE : mergeUnavailable(withoutCopies(audited, standing)),
    bypassed ?? NONE,
    reason,
    resolved.ref,
    evaluated,
  )
}

/** The Decision of a judged request, built in one literal (bypassReason only when there is one). */
function judged(allowed: boolean, denied: readonly Violation[], warnings: readonly Violation[], audited: readonly Violation[], bypassed: readonly Violation[], bypassReason: string | undefined, target: TargetRef, evaluated: readonly string[]): Decision {
  const decision: Decision = { allowed, denied, warnings, audited, bypassed, target, evaluated }
  return bypassReason === undefined ? decision : { ...decision, bypassReason }
}
