/**
 * @module plan/preflight-steps
 * The plan's first steps when the cluster fails a preflight rule (management-ready,
 * management-version, control-plane-healthy, workers-healthy, pool-capacity): the same rule code
 * the webhook runs, asked about the edits the plan is about to make (the first control-plane hop,
 * each MachineDeployment's move), against the same state. A deny-level finding becomes a "fix
 * first" step with its command; a warning becomes a note. Nothing here changes an object, so the
 * replay of the plan is unaffected.
 *
 * ACP guide, Prerequisites: "Before you start, ensure all of the following prerequisites are met".
 */
import { readGuarded, type GuardedObject } from '../objects/capi.js'
import { isRecord, type Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import type { RuleId } from '../rules/ids.js'
import { ruleById } from '../rules/index.js'
import type { RuleContext, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { draft, type Draft } from './draft.js'

export const PREFLIGHT_RULES: readonly RuleId[] = ['management-ready', 'management-version', 'control-plane-healthy', 'workers-healthy', 'pool-capacity']

/** The object with its version set, as the plan's edit would send it. */
function withVersion(obj: GuardedObject, version: string): GuardedObject | undefined {
  const raw = structuredClone(obj.raw) as Record<string, unknown>
  let node: unknown = raw
  const path = obj.paths.version
  for (const segment of path.slice(0, -1)) node = isRecord(node) ? node[segment] : undefined
  const last = path[path.length - 1]
  if (!isRecord(node) || last === undefined) return undefined
  ;(node as Record<string, unknown>)[last] = version
  const read = readGuarded(raw as Unstructured)
  return read.ok ? read.object : undefined
}

function findings(view: ClusterView, policy: Policy, obj: GuardedObject, version: string): Violation[] {
  const next = withVersion(obj, version)
  if (next === undefined || obj.version === version) return []
  const ctx: RuleContext = { operation: 'UPDATE', target: { type: 'guarded', kind: obj.kind, old: obj, new: next }, view, policy }
  return PREFLIGHT_RULES.map(ruleById)
    .filter((rule) => rule.appliesTo.includes(obj.kind) && policy.rules[rule.id] !== 'off')
    .flatMap((rule) => rule.check(ctx))
}

export interface PreflightResult {
  readonly steps: readonly Draft[]
  readonly notes: readonly string[]
}

/** "Fix first" steps for what a preflight rule would deny when the rollout starts; notes for its warnings. */
export function preflightSteps(view: ClusterView, policy: Policy, input: { readonly clusterRef: string; readonly kcp: GuardedObject; readonly firstHop: string | undefined; readonly mds: readonly GuardedObject[]; readonly workerTarget: string }): PreflightResult {
  const found = [
    ...(input.firstHop === undefined ? [] : findings(view, policy, input.kcp, input.firstHop)),
    ...input.mds.flatMap((md) => findings(view, policy, md, input.workerTarget)),
  ]
  const seen = new Set<string>()
  const steps: Draft[] = []
  const notes: string[] = []
  for (const v of found) {
    // A version the plan cannot name yet (a placeholder hop) is catalog-key's to report, not ours.
    if (v.duplicateOf !== undefined) continue
    const key = `${v.rule} ${v.message}`
    if (seen.has(key)) continue
    seen.add(key)
    const action = v.rule === 'bypass' || v.rule === 'request' ? 'deny' : policy.rules[v.rule]
    if (action === 'deny' && v.advisory !== true) {
      const command = /\((kubectl [^)]*)\)/.exec(v.hint)?.[1]
      steps.push(
        draft('check', `Fix first (${v.rule}): the rollout would be denied`, {
          commands: [...(command === undefined ? [] : [command]), `upgrade-guard status --cluster ${input.clusterRef}`],
          notes: [v.message, v.hint],
        }),
      )
    } else if (action === 'deny' || action === 'warn') {
      notes.push(`Preflight (${v.rule}): ${v.message}`)
    }
  }
  return { steps, notes }
}
