/**
 * The decision counters count with plain additions and hand them to prom-client when read: every
 * read (a scrape, the JSON form) shows every decision counted so far, once.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { reviewText, type ReviewOutcome } from '../../src/admission/review.js'
import { loadPolicy } from '../../src/policy/load.js'
import { ruleIds, ServerMetrics } from '../../src/server/metrics.js'
import { loadFileView } from '../../src/state/file-view.js'
import { DEFAULT_POLICY_PATH, EXAMPLE_REVIEWS, EXAMPLES_STATE } from './helpers.js'

const policy = loadPolicy(DEFAULT_POLICY_PATH)
const { view } = loadFileView([EXAMPLES_STATE], policy.catalog)
const outcomeOf = (file: string) => {
  const outcome = reviewText(readFileSync(join(EXAMPLE_REVIEWS, file), 'utf8'), 'validate', { policy, view })
  if (outcome.kind !== 'response') throw new Error(`${file}: no response`)
  return outcome as Extract<ReviewOutcome, { kind: 'response' }>
}

const series = (text: string, name: string): Record<string, number> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .map((l) => [l.slice(name.length, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  )

describe('decision counters', () => {
  it('every read shows what was counted since the start, each decision once', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false })
    const denied = outcomeOf('kcp-skip-minor.json')
    const allowed = outcomeOf('kcp-one-minor.json') // allowed, with a warning
    expect(denied.body.response.allowed).toBe(false)
    expect(allowed.body.response.allowed).toBe(true)
    const rules = ruleIds(denied).denied
    expect(rules.length).toBeGreaterThan(1)
    const denials = (n: number) => Object.fromEntries(rules.map((rule) => [`{rule="${rule}",kind="KubeadmControlPlane"}`, n]))
    for (let i = 0; i < 3; i++) metrics.observeDecision('validate', denied, 0.0001)
    metrics.observeDecision('validate', allowed, 0.0001)
    const first = await metrics.registry.metrics()
    expect(series(first, 'upgrade_guard_admission_requests_total')).toEqual({
      '{endpoint="validate",kind="KubeadmControlPlane",operation="UPDATE",decision="denied"}': 3,
      '{endpoint="validate",kind="KubeadmControlPlane",operation="UPDATE",decision="warned"}': 1,
    })
    expect(series(first, 'upgrade_guard_admission_denials_total')).toEqual(denials(3))
    // A second read without new decisions: the same, nothing counted twice.
    expect(series(await metrics.registry.metrics(), 'upgrade_guard_admission_denials_total')).toEqual(denials(3))
    metrics.observeDecision('validate', denied, 0.0001)
    const json = await metrics.registry.getMetricsAsJSON()
    const values = json.find((m) => m.name === 'upgrade_guard_admission_denials_total')?.values
    expect(values).toEqual(rules.map((rule) => ({ labels: { rule, kind: 'KubeadmControlPlane' }, value: 4 })))
    const third = await metrics.registry.metrics()
    expect(series(third, 'upgrade_guard_admission_requests_total')['{endpoint="validate",kind="KubeadmControlPlane",operation="UPDATE",decision="denied"}']).toBe(4)
    expect(series(third, 'upgrade_guard_decision_duration_seconds_count')).toEqual({ '{endpoint="validate"}': 5 })
  })

  it('no decision yet: the counters have no series', async () => {
    const text = await new ServerMetrics({ defaultMetrics: false }).registry.metrics()
    expect(series(text, 'upgrade_guard_admission_requests_total')).toEqual({})
    expect(text).toContain('# TYPE upgrade_guard_admission_requests_total counter')
  })
})
