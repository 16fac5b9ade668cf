/**
 * @module plan/format
 * `plan --output text` (numbered steps with their commands, for people) and `--output json`
 * (plan-schema.json: the same data, plus each step's resulting objects so a pipeline can replay
 * them with `validate`).
 */
import type { PlanResult, PlanStep } from './types.js'

export const PLAN_VERSION = 1

export function toJsonPlan(result: PlanResult): Record<string, unknown> {
  return { version: PLAN_VERSION, tool: 'upgrade-guard', command: 'plan', ...result }
}

export const formatPlanJson = (result: PlanResult): string => `${JSON.stringify(toJsonPlan(result), null, 2)}\n`

function stepLines(step: PlanStep): string[] {
  const lines = [`${String(step.number).padStart(2)}. ${step.title}`]
  for (const c of step.commands) lines.push(`      ${c}`)
  for (const n of step.notes) lines.push(`      note: ${n}`)
  return lines
}

/** Text for people; a refusal prints nothing here (its reasons go to stderr). */
export function formatPlanText(result: PlanResult): string {
  if (result.refused) return ''
  const p = result
  const lines = [
    `Upgrade plan for Cluster ${p.cluster.namespace}/${p.cluster.name}: ${p.from} -> ${p.to}`,
    `Control plane ${p.controlPlane}: ${p.hops.length === 0 ? 'already at the target' : p.hops.join(' -> ')}`,
    ...p.notes.map((n) => `* ${n}`),
    '',
    ...p.steps.flatMap((s) => [...stepLines(s), '']),
  ]
  return `${lines.join('\n').trimEnd()}\n`
}
