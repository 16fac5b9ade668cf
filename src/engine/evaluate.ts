/**
 * @module engine/evaluate
 * The engine: `evaluate(request, view, policy)` applies scope, ratcheting, bypass and each
 * rule's action, and returns one Decision. No I/O, deterministic. The webhook and the CLI both
 * call it; neither re-implements a rule.
 */
import { jsonEqual } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { notFound } from '../rules/field-path.js'
import { RULES } from '../rules/index.js'
import type { RuleContext, RuleDefinition, Target, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { bypassProblems, readBypass } from './bypass.js'
import { emptyDecision, type Decision, type EngineRequest } from './decision.js'
import { resolveTarget } from './scope.js'

const targetKind = (t: Target): string => (t.type === 'catalog' ? 'Catalog' : t.kind)

/** On UPDATE a rule may only deny when what it watches changed (never deadlock controllers). */
function isRatchetedAway(rule: RuleDefinition, ctx: RuleContext): boolean {
  if (ctx.operation !== 'UPDATE' || rule.watches === undefined || ctx.target.type !== 'guarded') return false
  const { old, new: next } = ctx.target
  if (old === undefined || next === undefined) return false
  return jsonEqual(rule.watches(old), rule.watches(next))
}

function unavailableViolation(rule: RuleDefinition, ctx: RuleContext): Violation[] {
  if (ctx.policy.state.onUnavailable === 'allow') return []
  const reason = ctx.view.status().reason ?? 'not synced yet'
  return [notFound('(state)', rule.id, undefined, `cannot check: the cluster-state view is unavailable (${reason})`, 'retry when upgrade-guard is ready; an admin may set state.onUnavailable: allow to fail open')]
}

export function evaluate(req: EngineRequest, view: ClusterView, policy: Policy): Decision {
  const resolved = resolveTarget(req, view, policy)
  if (resolved.kind === 'skip') return emptyDecision(resolved.reason, resolved.ref)
  if (resolved.kind === 'reject') {
    return { ...emptyDecision(undefined, resolved.ref), allowed: false, denied: [resolved.violation] }
  }
  const ctx: RuleContext = { operation: req.operation, target: resolved.target, view, policy }
  const kind = targetKind(resolved.target)
  const stateAvailable = view.status().available
  const found: Violation[] = []
  const evaluated: string[] = []
  for (const rule of RULES) {
    if (!rule.appliesTo.some((k) => k === kind)) continue
    if (policy.rules[rule.id] === 'off') continue
    if (isRatchetedAway(rule, ctx)) continue
    evaluated.push(rule.id)
    const needsState = typeof rule.needsState === 'function' ? rule.needsState(ctx) : rule.needsState
    found.push(...(needsState && !stateAvailable ? unavailableViolation(rule, ctx) : rule.check(ctx)))
  }

  const bypass = readBypass(resolved.annotated, resolved.previous, req.userInfo, policy)
  const needed = new Set(found.map((v) => v.rule))
  const problems = bypass === undefined ? [] : bypassProblems(bypass, needed, req.userInfo, policy)
  const honoured: ReadonlySet<string> = bypass !== undefined && bypass.authorised && problems.length === 0 ? bypass.rules : new Set<string>()

  const denied: Violation[] = [...problems]
  const warnings: Violation[] = []
  const audited: Violation[] = []
  const bypassed: Violation[] = []
  for (const v of found) {
    if (honoured.has(v.rule)) {
      bypassed.push(v)
      continue
    }
    const action = v.rule === 'bypass' || v.rule === 'request' ? 'deny' : policy.rules[v.rule]
    if (action === 'audit') audited.push(v)
    else if (action === 'warn' || v.advisory === true) warnings.push(v)
    else if (action === 'deny') denied.push(v)
  }
  return { allowed: denied.length === 0, denied, warnings, audited, bypassed, target: resolved.ref, evaluated }
}
