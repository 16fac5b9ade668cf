/**
 * Every series name and label name the alerts and the dashboard use exists in what /metrics
 * really serves: a real server (HTTPS on 127.0.0.1) answers a few captured AdmissionReviews
 * (a denial, a mutation, an allowed edit, a malformed body) so that the labelled series exist,
 * then its /metrics is read and each PromQL expression is checked against it.
 *
 * - A name from outside upgrade-guard must be on the EXTERNAL list (Prometheus' `up`,
 *   kube-state-metrics), with the labels those exporters really have.
 * - A metric that has no series yet (reloads, audits, bypasses, the cache and audit gauges before
 *   a live view or an audit has run) counts as served when /metrics declares it (# TYPE); its
 *   labels are then the ones the server's registry declares for it. The cache and audit names
 *   are also checked against the labels fixed for them in the round-2 brief (PLANNED_LABELS).
 * - Labels the Prometheus Operator adds to every scraped series (TARGET_LABELS) exist everywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readReview, startTestServer, type TestServer } from '../server/helpers.js'
import { alertRules, dashboardFile, dashboardQueries, expandGrafana, parseExposition, prometheusRuleFile, promqlUses, type Exposition } from './monitoring-helpers.js'

/** Labels a ServiceMonitor target adds to each series (prometheus-operator's endpoint relabelling). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'service', 'pod', 'container', 'endpoint']

const EXTERNAL: Readonly<Record<string, readonly string[]>> = {
  up: ['job', 'instance', 'namespace', 'service', 'pod', 'container', 'endpoint'],
  kube_deployment_status_replicas_available: ['namespace', 'deployment', 'job', 'instance'],
  kube_deployment_spec_replicas: ['namespace', 'deployment', 'job', 'instance'],
}

/** Names and labels fixed in the round-2 brief (issues 11 and 14), for metrics without series here. */
const PLANNED_LABELS: Readonly<Record<string, readonly string[]>> = {
  upgrade_guard_cache_synced: ['cache'],
  upgrade_guard_watch_restarts_total: ['cache'],
  upgrade_guard_audit_findings: ['rule', 'kind', 'namespace'],
}

let server: TestServer
let served: Exposition
let body: string

beforeAll(async () => {
  server = await startTestServer()
  const reviews = [
    ['/validate', readReview('v1beta1', '012').text], // KCP UPDATE that skips a minor: denied
    ['/mutate', readReview('v1beta1', '029').text], // KCP CREATE without a strategy: patched
    ['/validate', readReview('v1beta1', '029').text],
    ['/validate', '{"apiVersion":'], // not JSON: rejected_requests
  ] as const
  for (const [path, review] of reviews) await server.post(path, review)
  const r = await server.get('/metrics')
  expect(r.status).toBe(200)
  body = r.body
  served = parseExposition(body)
})

afterAll(async () => {
  await server?.close()
})

/** Label names the server's own registry declares for a metric (prom-client keeps them on the metric). */
function declaredLabels(metric: string): string[] {
  const found = server.metrics.registry.getSingleMetric(metric)
  const names: unknown = found === undefined ? undefined : (found as unknown as { labelNames?: unknown }).labelNames
  return Array.isArray(names) ? names.map(String) : []
}

/** The label names a series name has, or undefined when it is neither served nor external. */
function labelsOf(metric: string): { readonly labels: ReadonlySet<string>; readonly source: string } | undefined {
  const external = EXTERNAL[metric]
  if (external !== undefined) return { labels: new Set(external), source: 'external exporter' }
  const seen = served.series.get(metric)
  if (seen !== undefined && seen.size > 0) return { labels: new Set([...seen, ...TARGET_LABELS]), source: '/metrics series' }
  if (served.declared.has(metric)) {
    // Declared (# TYPE) but no labelled sample yet: the labels the server registered it with.
    const base = served.declared.get(metric) === 'histogram' ? metric.replace(/_(bucket|sum|count)$/, '') : metric
    const extra = metric.endsWith('_bucket') ? ['le'] : []
    return { labels: new Set([...declaredLabels(base), ...extra, ...(seen ?? []), ...TARGET_LABELS]), source: '/metrics # TYPE, labels as registered' }
  }
  return undefined
}

function problems(expr: string): string[] {
  const uses = promqlUses(expr)
  const out = [...uses.errors]
  for (const s of uses.selectors) {
    const known = labelsOf(s.metric)
    if (known === undefined) {
      out.push(`${s.metric}: not served by /metrics and not a known external metric`)
      continue
    }
    for (const l of s.labels) if (!known.labels.has(l)) out.push(`${s.metric}{${l}}: no such label (${known.source})`)
  }
  for (const g of uses.groupings) {
    const carriers = g.metrics.filter((m) => labelsOf(m)?.labels.has(g.label) === true || (g.label === 'le' && m.endsWith('_bucket')))
    if (carriers.length === 0) out.push(`${g.clause} (${g.label}): no metric under it has that label (${g.metrics.join(', ')})`)
  }
  return out
}

const rules = alertRules(prometheusRuleFile())
const queries = dashboardQueries(dashboardFile())

describe('the PromQL reader itself', () => {
  it('finds names and labels, and flags what /metrics does not serve', () => {
    expect(problems('sum by (rule) (rate(upgrade_guard_admission_denials_total{kind="KubeadmControlPlane"}[5m]))')).toEqual([])
    expect(problems('rate(upgrade_guard_admission_denial_total[5m])')).toEqual(['upgrade_guard_admission_denial_total: not served by /metrics and not a known external metric'])
    expect(problems('upgrade_guard_admission_denials_total{result="x"}')).toEqual(['upgrade_guard_admission_denials_total{result}: no such label (/metrics series)'])
    expect(problems('sum by (cluster) (upgrade_guard_state_view_available)')[0]).toMatch(/^by \(cluster\): no metric under it/)
    expect(problems('upgrade_guard_audit_findings{severity="deny"}')).toEqual(['upgrade_guard_audit_findings{severity}: no such label (/metrics # TYPE, labels as registered)'])
    expect(problems('histogram_quantile(0.99, sum by (le) (rate(upgrade_guard_decision_duration_seconds_bucket[5m])))')).toEqual([])
    expect(problems('sum(rate(x[5m]')).not.toEqual([])
  })

  it('serves the labelled series the requests made, and declares the planned metrics', () => {
    expect(served.series.get('upgrade_guard_admission_denials_total')).toEqual(new Set(['rule', 'kind']))
    expect(served.series.get('upgrade_guard_admission_requests_total')).toEqual(new Set(['endpoint', 'kind', 'operation', 'decision']))
    expect(served.series.get('upgrade_guard_decision_duration_seconds_bucket')).toEqual(new Set(['endpoint', 'le']))
    expect(served.series.get('upgrade_guard_rejected_requests_total')).toEqual(new Set(['endpoint', 'code']))
    for (const [name, labels] of Object.entries(PLANNED_LABELS)) {
      expect(served.declared.has(name), `${name} declared in /metrics`).toBe(true)
      expect(declaredLabels(name), name).toEqual(labels)
    }
    expect(body).toMatch(/^upgrade_guard_admission_denials_total\{rule="control-plane-minor-step",kind="KubeadmControlPlane"\} 1$/m)
  })
})

describe('alerts use only what /metrics serves', () => {
  it('there are alerts to check', () => expect(rules.length).toBeGreaterThan(8))
  it.each(rules.map((r) => ({ name: r.alert, expr: r.expr })))('$name', ({ expr }) => {
    expect(problems(expr)).toEqual([])
  })
})

describe('dashboard queries use only what /metrics serves', () => {
  it('there are queries to check', () => expect(queries.length).toBeGreaterThan(10))
  it.each(queries)('$where', ({ expr }) => {
    expect(problems(expandGrafana(expr))).toEqual([])
  })
})
