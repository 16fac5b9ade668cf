/**
 * buildServer(deps) + inject(): /healthz, /readyz (what is missing, 503), /metrics (names,
 * labels, buckets), and the decision log lines (what they carry, what they never carry).
 */
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { loadPolicy, policyFromDocument } from '../../src/policy/load.js'
import { buildServer, type GuardServer } from '../../src/server/build-server.js'
import { staticTls, type TlsSource } from '../../src/server/certificates.js'
import { ServerMetrics } from '../../src/server/metrics.js'
import { staticPolicy } from '../../src/server/policy-source.js'
import { staticState } from '../../src/server/state-source.js'
import { loadFileView } from '../../src/state/file-view.js'
import { MemoryView } from '../../src/state/memory-view.js'
import { DEFAULT_POLICY_PATH, readReview, REFERENCE_STATE, testCertificates } from './helpers.js'

const policy = loadPolicy(DEFAULT_POLICY_PATH)
const view = () => loadFileView([REFERENCE_STATE], policy.catalog).view

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const raw: string[] = []
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter((x) => x.trim() !== '')) {
          raw.push(l)
          lines.push(JSON.parse(l) as Record<string, unknown>)
        }
        done()
      },
    }),
  })
  return { logger, lines, raw }
}

let apps: GuardServer[] = []
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()))
  apps = []
})
async function build(...args: Parameters<typeof buildServer>): Promise<GuardServer> {
  const app = await buildServer(...args)
  apps.push(app)
  return app
}

const post = (app: GuardServer, url: string, payload: string) => app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } })

describe('/healthz and /readyz', () => {
  it('ready: 200 with every check ok', async () => {
    const app = await build({ policy: staticPolicy(policy), state: staticState(view()), tls: staticTls(await testCertificates()) })
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    const r = await app.inject('/readyz')
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ ready: true, missing: [], checks: { state: { ok: true }, policy: { ok: true }, certificate: { ok: true }, shutdown: { ok: true } } })
  })

  it('state not synced: 503 and the body says what is missing; /healthz stays 200', async () => {
    const unsynced = new MemoryView(policy.catalog, { available: false, reason: 'cache clusters not synced' })
    const app = await build({ policy: staticPolicy(policy), state: staticState(unsynced, 'live caches') })
    const r = await app.inject('/readyz')
    expect(r.statusCode).toBe(503)
    expect(r.json()).toMatchObject({ ready: false, missing: ['state: live caches: cache clusters not synced'] })
    expect((await app.inject('/healthz')).statusCode).toBe(200)
  })

  it('expired certificate and shutting down: 503, both named', async () => {
    const certs = await testCertificates()
    const real = staticTls(certs)
    const expired: TlsSource = { ...real, info: () => ({ ...real.info(), validTo: Date.now() - 1000 }) }
    const lifecycle = { draining: true }
    const app = await build({ policy: staticPolicy(policy), state: staticState(view()), tls: expired, lifecycle })
    const r = await app.inject('/readyz')
    expect(r.statusCode).toBe(503)
    const missing = (r.json() as { missing: string[] }).missing
    expect(missing.some((m) => /^certificate: serving certificate expired at /.test(m))).toBe(true)
    expect(missing).toContain('shutdown: shutting down')
    expect(r.headers.connection).toBe('close')
  })
})

describe('/metrics', () => {
  it('Prometheus text with the documented names and labels', async () => {
    const metrics = new ServerMetrics()
    const app = await build({ policy: staticPolicy(policy), state: staticState(view()), tls: staticTls(await testCertificates()), metrics })
    for (const [dir, id] of [['v1beta1', '012'], ['v1beta1', '016'], ['v1beta1', '022'], ['v1beta1', '029'], ['v1beta1', '058']] as const) {
      const file = readReview(dir, id)
      expect((await post(app, file.file.includes('-mutate-') ? '/mutate' : '/validate', file.text)).statusCode).toBe(200)
    }
    await post(app, '/validate', '{"not":"a review"}')
    const r = await app.inject('/metrics')
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = r.body
    expect(text).toMatch(/upgrade_guard_admission_requests_total\{endpoint="validate",kind="KubeadmControlPlane",operation="UPDATE",decision="denied"\} 2/)
    expect(text).toMatch(/upgrade_guard_admission_requests_total\{endpoint="validate",kind="KubeadmControlPlane",operation="UPDATE",decision="warned"\} 1/)
    expect(text).toMatch(/upgrade_guard_admission_requests_total\{endpoint="mutate",kind="KubeadmControlPlane",operation="CREATE",decision="patched"\} 1/)
    expect(text).toMatch(/upgrade_guard_admission_requests_total\{endpoint="validate",kind="Scale",operation="UPDATE",decision="allowed"\} 1/)
    expect(text).toMatch(/upgrade_guard_admission_denials_total\{rule="control-plane-minor-step",kind="KubeadmControlPlane"\} 1/)
    expect(text).toMatch(/upgrade_guard_admission_denials_total\{rule="max-surge-zero",kind="KubeadmControlPlane"\} 1/)
    expect(text).toMatch(/upgrade_guard_admission_warnings_total\{rule="pinned-component-tags",kind="KubeadmControlPlane"\} 2/)
    expect(text).toMatch(/upgrade_guard_admission_warnings_total\{rule="max-surge-zero",kind="KubeadmControlPlane"\} 1/)
    expect(text).toMatch(/upgrade_guard_decision_duration_seconds_bucket\{le="0.00005",endpoint="validate"\} \d+/)
    expect(text).toMatch(/upgrade_guard_decision_duration_seconds_count\{endpoint="validate"\} 4/)
    expect(text).toMatch(/upgrade_guard_rejected_requests_total\{endpoint="validate",code="400"\} 1/)
    expect(text).toMatch(/upgrade_guard_state_view_age_seconds \d/)
    expect(text).toMatch(/upgrade_guard_state_view_available 1/)
    expect(text).toMatch(/upgrade_guard_certificate_expiry_timestamp_seconds \d{10}/)
    expect(text).toMatch(/# TYPE upgrade_guard_admission_bypasses_total counter/)
    expect(text).toMatch(/# TYPE upgrade_guard_admission_audits_total counter/)
    expect(text).toMatch(/process_cpu_user_seconds_total/)
  })

  it('made-up kinds and operations do not create new series', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false })
    const app = await build({ policy: staticPolicy(policy), state: staticState(view()), metrics })
    for (let i = 0; i < 5; i++) {
      const body = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u${i}`, kind: { group: 'x', version: 'v1', kind: `Kind${i}` }, operation: 'CREATE', object: { kind: `Kind${i}` }, oldObject: null } }
      expect((await post(app, '/validate', JSON.stringify(body))).statusCode).toBe(200)
    }
    const text = await metrics.registry.getSingleMetricAsString('upgrade_guard_admission_requests_total')
    expect(text).toMatch(/kind="other",operation="CREATE",decision="allowed"\} 5/)
    expect(text).not.toMatch(/Kind\d/)
  })
})

describe('decision logs', () => {
  it('one line per decision with who, what and the rule ids; no object data', async () => {
    const { logger, lines, raw } = capture()
    const app = await build({ policy: staticPolicy(policy), state: staticState(view()), logger })
    const review = readReview('v1beta1', '012').text
    await post(app, '/validate?timeout=10s', review)
    const decisions = lines.filter((l) => l.msg === 'admission decision')
    expect(decisions).toHaveLength(1)
    expect(decisions[0]).toMatchObject({
      level: 'info',
      uid: (JSON.parse(review) as { request: { uid: string } }).request.uid,
      kind: 'KubeadmControlPlane',
      namespace: 'cpaas-system',
      object: 'bm-workload-control-plane',
      endpoint: 'validate',
      operation: 'UPDATE',
      user: 'admin',
      dryRun: false,
      allowed: false,
      decision: 'denied',
      denied: ['control-plane-minor-step', 'worker-skew'],
      warned: ['pinned-component-tags'],
      audited: [],
      bypassed: [],
    })
    expect(typeof decisions[0]?.latency_ms).toBe('number')
    const all = raw.join('\n')
    for (const secret of ['last-applied-configuration', 'managedFields', 'registry.example.com', 'imageTag', 'system:masters', 'admin-uid']) expect(all).not.toContain(secret)
  })

  it('an honoured bypass: warn line with the user, the reason and the rule; counted', async () => {
    const { logger, lines } = capture()
    const metrics = new ServerMetrics({ defaultMetrics: false })
    const bypassPolicy = policyFromDocument({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', bypass: { users: ['admin'] } })
    const app = await build({ policy: staticPolicy(bypassPolicy), state: staticState(view()), logger, metrics })
    const review = JSON.parse(readReview('v1beta1', '022').text) as { request: { object: { metadata: { annotations: Record<string, string> } } } }
    review.request.object.metadata.annotations['upgrade-guard.io/bypass'] = 'max-surge-zero'
    review.request.object.metadata.annotations['upgrade-guard.io/bypass-reason'] = 'INC-4711: spare host racked for this rollout'
    const r = await post(app, '/validate', JSON.stringify(review))
    expect((r.json() as { response: { allowed: boolean } }).response.allowed).toBe(true)
    const warn = lines.find((l) => l.level === 'warn' && l.rule === 'max-surge-zero')
    expect(warn).toMatchObject({ user: 'admin', reason: 'INC-4711: spare host racked for this rollout', kind: 'KubeadmControlPlane', object: 'bm-workload-control-plane' })
    expect(lines.find((l) => l.msg === 'admission decision')).toMatchObject({ allowed: true, bypassed: ['max-surge-zero'] })
    expect(await metrics.registry.getSingleMetricAsString('upgrade_guard_admission_bypasses_total')).toMatch(/rule="max-surge-zero",kind="KubeadmControlPlane"\} 1/)
  })
})
