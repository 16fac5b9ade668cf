/**
 * manifests/components/monitoring: a kustomize Component, off by default, switched on by
 * uncommenting two lines in an overlay. Rendered both ways (kubectl kustomize where it exists,
 * and the built-in renderer), with and without it, for both overlays; the ServiceMonitor must
 * reach the Service's metrics port, every alert must say what to do and link a runbook section
 * that exists, and the dashboard must arrive in a ConfigMap the Grafana sidecar picks up.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { CERT_MANAGER, containerPort, flagValue, one, opensslAvailable, readText, rendered, renderSelfSignedCopy, selectorMatches } from './deploy-helpers.js'
import { schemaProblems } from './k8s-schema.js'
import { crdUnknownFields } from './monitoring-crd-fields.js'
import { kubectlWithKustomize, objectId, renderBuiltin, renderWithKubectl, type Obj } from './kustomize.js'
import { alertRules, COMPONENT, dashboardFile, dashboardQueries, enableMonitoring, promqlUses, renderWithMonitoring } from './monitoring-helpers.js'

const MONITORING_IDS = [
  'monitoring.coreos.com/v1/ServiceMonitor/upgrade-guard/upgrade-guard',
  'monitoring.coreos.com/v1/PrometheusRule/upgrade-guard/upgrade-guard',
  'v1/ConfigMap/upgrade-guard/upgrade-guard-dashboard',
]

const byId = (objects: readonly Obj[]): Map<string, Obj> => new Map(objects.map((o) => [objectId(o), o]))

const overlays = [
  { name: 'cert-manager', without: () => ({ objects: rendered(CERT_MANAGER).objects, certificates: undefined }) },
  ...(opensslAvailable()
    ? [
        {
          name: 'self-signed',
          without: () => {
            const copy = renderSelfSignedCopy()
            return { objects: copy.rendered.objects, certificates: copy.dir }
          },
        },
      ]
    : []),
] as const

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const anchors = (markdown: string): Set<string> =>
  new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] as string)
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  )

describe('the component itself', () => {
  it('is a kustomize Component (kind Component, kustomize.config.k8s.io/v1alpha1)', () => {
    const k = parse(readFileSync(join(COMPONENT, 'kustomization.yaml'), 'utf8')) as Obj
    expect(k).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component' })
  })

  it.each(['cert-manager', 'self-signed'])('overlays/%s lists it, commented out (opt-in)', (overlay) => {
    const text = readText(`manifests/overlays/${overlay}/kustomization.yaml`)
    expect(() => enableMonitoring(text)).not.toThrow()
    expect(parse(text) as Obj).not.toHaveProperty('components')
  })

  it('the unknown-field check of the CRD objects catches a misspelt field', () => {
    const monitor = parse(readFileSync(join(COMPONENT, 'servicemonitor.yaml'), 'utf8')) as Obj
    monitor.spec.endpoints[0].honorLabel = true
    monitor.spec.endpoints[0].honorLabels = undefined
    const rule = parse(readFileSync(join(COMPONENT, 'prometheusrule.yaml'), 'utf8')) as Obj
    rule.spec.groups[0].rules[0].annotation = {}
    expect(crdUnknownFields(monitor)).toEqual(['spec.endpoints[0].honorLabel: unknown field'])
    expect(crdUnknownFields(rule)).toEqual(['spec.groups[0].rules[0].annotation: unknown field'])
  })

  it('the built-in renderer refuses a Component rendered as a Kustomization', () => {
    expect(() => renderBuiltin(COMPONENT)).toThrow(/kind is Component, expected Kustomization/)
  })
})

describe.each(overlays)('overlays/$name', ({ name, without }) => {
  const base = without()
  const off = byId(base.objects)
  const on = renderWithMonitoring(name as 'cert-manager' | 'self-signed', base.certificates)
  const onById = byId(on.rendered.objects)

  it('without the component: no ServiceMonitor, PrometheusRule or dashboard', () => {
    for (const id of MONITORING_IDS) expect(off.has(id), id).toBe(false)
    expect([...off.values()].filter((o) => o.metadata?.labels?.grafana_dashboard !== undefined)).toEqual([])
  })

  it('with the component: exactly the three monitoring objects more, everything else unchanged', () => {
    expect([...onById.keys()].filter((id) => !off.has(id)).sort()).toEqual([...MONITORING_IDS].sort())
    for (const [id, obj] of off) expect(onById.get(id), id).toEqual(obj)
  })

  it('with the component: every new object passes its schema, and the CRD objects have no unknown field', () => {
    for (const id of MONITORING_IDS) expect(schemaProblems(onById.get(id) as Obj), id).toEqual([])
    for (const id of MONITORING_IDS.slice(0, 2)) expect(crdUnknownFields(onById.get(id) as Obj), id).toEqual([])
  })

  it.skipIf(kubectlWithKustomize() === undefined)('with the component: the built-in renderer = kubectl kustomize', () => {
    expect(byId(renderBuiltin(on.dir))).toEqual(byId(renderWithKubectl(on.dir)))
  })

  it('the ServiceMonitor reaches the Service port that serves /metrics', () => {
    const monitor = onById.get(MONITORING_IDS[0] as string) as Obj
    const service = one(on.rendered.objects, 'Service', 'upgrade-guard')
    const deployment = one(on.rendered.objects, 'Deployment', 'upgrade-guard')
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([service.metadata.namespace])
    expect(selectorMatches(monitor.spec.selector, service.metadata.labels)).toBe(true)
    const [endpoint, ...others] = monitor.spec.endpoints as Obj[]
    expect(others).toEqual([])
    expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics', scheme: 'http', honorLabels: true })
    const port = (service.spec.ports as Obj[]).find((p) => p.name === endpoint?.port) as Obj
    expect(port, 'Service port named metrics').toBeDefined()
    const container = containerPort(deployment, port.targetPort)
    expect(container?.containerPort).toBe(Number(flagValue(deployment.spec.template.spec.containers[0].args, '--metrics-port')))
    // job="…" in every alert is the Service's jobLabel value.
    const job = service.metadata.labels[monitor.spec.jobLabel] as string
    expect(job).toBe('upgrade-guard')
    const rule = onById.get(MONITORING_IDS[1] as string) as Obj
    const jobs = new Set(alertRules(rule).flatMap((r) => [...r.expr.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1])))
    expect(jobs).toEqual(new Set([job]))
  })

  it('the dashboard ConfigMap carries the sidecar label and the dashboard JSON as it is in the repository', () => {
    const cm = onById.get(MONITORING_IDS[2] as string) as Obj
    expect(cm.metadata.labels.grafana_dashboard).toBe('1')
    expect(Object.keys(cm.data as object)).toEqual(['upgrade-guard.json'])
    expect(JSON.parse(cm.data['upgrade-guard.json'] as string)).toEqual(dashboardFile())
  })
})

describe('alerts', () => {
  const rules = alertRules(parse(readFileSync(join(COMPONENT, 'prometheusrule.yaml'), 'utf8')) as Obj)
  const runbook = anchors(readText('docs/operations.md'))

  it('alert names are unique', () => {
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size).toBe(names.length)
  })

  it.each(rules.map((r) => ({ name: r.alert, rule: r })))('$name: severity, for, summary, a description that says what to do, a runbook section that exists', ({ rule }) => {
    expect(['warning', 'critical']).toContain(rule.labels?.severity)
    expect(rule.for).toMatch(/^\d+[smh]$/)
    expect(rule.annotations?.summary?.length ?? 0).toBeGreaterThan(10)
    expect(rule.annotations?.description ?? '').toMatch(/\b(check|look|find|renew|list|read|follow|fix|run)\b/i)
    const url = /docs\/operations\.md#([\w-]+)$/.exec(rule.annotations?.runbook_url ?? '')
    expect(url, `${rule.alert}: runbook_url points at docs/operations.md#…`).not.toBeNull()
    expect(url?.[1]).toBe(rule.alert.toLowerCase())
    expect(runbook.has(url?.[1] as string), `docs/operations.md has a "### ${rule.alert}" section`).toBe(true)
  })

  /** Which alerts read a metric (and, optionally, whose expression matches a pattern). */
  const alertsOn = (metric: string, pattern?: RegExp): string[] =>
    rules.filter((r) => promqlUses(r.expr).selectors.some((s) => s.metric === metric) && (pattern === undefined || pattern.test(r.expr))).map((r) => r.alert)

  it.each([
    { what: 'no scrape target answers', metric: 'up', pattern: /absent\(/ },
    { what: 'a target is down', metric: 'up', pattern: /== 0/ },
    { what: 'no ready replica (kube-state-metrics)', metric: 'kube_deployment_status_replicas_available', pattern: /== 0/ },
    { what: 'certificate < 14 days', metric: 'upgrade_guard_certificate_expiry_timestamp_seconds', pattern: /14 \* 86400/ },
    { what: 'certificate < 2 days', metric: 'upgrade_guard_certificate_expiry_timestamp_seconds', pattern: /< 2 \* 86400/ },
    { what: 'state view unavailable', metric: 'upgrade_guard_state_view_available' },
    { what: 'state view older than N', metric: 'upgrade_guard_state_view_age_seconds', pattern: /> \d+/ },
    { what: 'a cache not synced', metric: 'upgrade_guard_cache_synced' },
    { what: 'denials above normal, per rule', metric: 'upgrade_guard_admission_denials_total', pattern: /by \(rule\)[\s\S]*offset/ },
    { what: 'audit findings at deny level', metric: 'upgrade_guard_audit_deny_findings' },
    { what: 'p99 latency over budget', metric: 'upgrade_guard_decision_duration_seconds_bucket', pattern: /histogram_quantile\(0\.99/ },
  ])('an alert for: $what', ({ metric, pattern }) => {
    expect(alertsOn(metric, pattern)).not.toEqual([])
  })

  it('the two certificate alerts have the severities asked for', () => {
    const severity = (name: string) => rules.find((r) => r.alert === name)?.labels?.severity
    expect(severity('UpgradeGuardCertificateExpiresSoon')).toBe('warning')
    expect(severity('UpgradeGuardCertificateExpiryCritical')).toBe('critical')
  })
})

describe('dashboard', () => {
  const dashboard = dashboardFile()
  const panels = (dashboard.panels as Obj[]).filter((p) => p.type !== 'row')
  const metricsOf = (panel: Obj): string[] => ((panel.targets ?? []) as Obj[]).flatMap((t) => promqlUses(String(t.expr).replace(/\$__rate_interval/g, '5m').replace(/\$\w+/g, 'x')).selectors.map((s) => s.metric))

  it('has a stable uid, unique panel ids and a layout inside the 24-column grid', () => {
    expect(dashboard.uid).toBe('upgrade-guard')
    const ids = (dashboard.panels as Obj[]).map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of dashboard.panels as Obj[]) expect(p.gridPos.x + p.gridPos.w, String(p.title)).toBeLessThanOrEqual(24)
  })

  it('every query goes to the data source the user picks', () => {
    expect((dashboard.templating.list as Obj[]).find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    for (const p of panels) for (const t of p.targets as Obj[]) expect(t.datasource?.uid, String(p.title)).toBe('${datasource}')
    expect(dashboardQueries(dashboard).length).toBeGreaterThan(10)
  })

  it.each([
    { what: 'decisions by kind, operation and result', metric: 'upgrade_guard_admission_requests_total', by: /by \(kind, operation, decision\)/ },
    { what: 'denials by rule', metric: 'upgrade_guard_admission_denials_total', by: /by \(rule\)/ },
    { what: 'latency quantiles', metric: 'upgrade_guard_decision_duration_seconds_bucket', by: /histogram_quantile\(0\.99/ },
    { what: 'state age', metric: 'upgrade_guard_state_view_age_seconds' },
    { what: 'cache sync', metric: 'upgrade_guard_cache_synced', by: /by \(instance, cache\)/ },
    { what: 'certificate expiry', metric: 'upgrade_guard_certificate_expiry_timestamp_seconds', by: /- time\(\)/ },
    { what: 'audit findings', metric: 'upgrade_guard_audit_findings', by: /by \(rule, kind, namespace\)/ },
  ])('shows $what', ({ metric, by }) => {
    const showing = panels.filter((p) => metricsOf(p).includes(metric) && (by === undefined || (p.targets as Obj[]).some((t) => by.test(String(t.expr)))))
    expect(showing.map((p) => p.title)).not.toEqual([])
  })

  it('the latency panel shows p50, p90 and p99', () => {
    const latency = panels.find((p) => metricsOf(p).includes('upgrade_guard_decision_duration_seconds_bucket')) as Obj
    const quantiles = (latency.targets as Obj[]).map((t) => /histogram_quantile\(([\d.]+)/.exec(String(t.expr))?.[1])
    expect(quantiles).toEqual(['0.5', '0.9', '0.99'])
  })
})

describe('docs', () => {
  it('docs/install.md and the README point at the component', () => {
    expect(readText('docs/install.md')).toContain('manifests/components/monitoring')
    expect(readText('README.md')).toContain('docs/operations.md')
  })

  it('the component folder is what docs/operations.md tells users to uncomment', () => {
    const ops = readText('docs/operations.md')
    expect(ops).toContain('components:\n  - ../../components/monitoring')
  })
})
