/**
 * @module server/plugins/health
 * `GET /healthz`: the process is alive and serving (always 200 while it runs).
 * `GET /readyz`: 200 only when the server can decide: the cluster-state view is loaded (files)
 * or every live cache has listed once, a policy is loaded, a serving certificate is loaded and
 * not expired, and the server is not shutting down. Otherwise 503, and the body names what is
 * missing. A live view that falls behind after its first sync (a dropped watch) keeps the pod
 * ready on purpose: the rules then fail closed with a message saying so, which tells users more
 * than "no endpoints". For live caches the body lists every cache: synced, fresh or behind since
 * when, what it is doing, its last error and how often its watch was re-established.
 */
import type { FastifyInstance } from 'fastify'
import type { CacheReport } from '../../state/informer-view.js'
import type { TlsSource } from '../certificates.js'
import { allowOnly } from '../http-errors.js'
import type { PolicyProvider } from '../policy-source.js'
import type { StateSource } from '../state-source.js'

export interface Lifecycle {
  /** Set on SIGTERM: not ready any more, every answer carries `Connection: close`. */
  draining: boolean
}

export interface HealthPluginOptions {
  readonly policy: PolicyProvider
  readonly state: StateSource
  readonly tls?: TlsSource
  readonly lifecycle: Lifecycle
  readonly now?: () => number
}

export interface Check {
  readonly ok: boolean
  readonly detail: string
}

export interface ReadinessReport {
  readonly ready: boolean
  /** One line per failed check, e.g. `state: caches not synced yet: clusters`. */
  readonly missing: readonly string[]
  readonly checks: Readonly<Record<'state' | 'policy' | 'certificate' | 'shutdown', Check>>
  /** Live caches only: which cache, since when behind, last error. */
  readonly caches?: readonly CacheReport[]
}

export function checkReadiness(options: HealthPluginOptions): ReadinessReport {
  const now = (options.now ?? Date.now)()
  const { state, policy, tls } = options
  const r = state.readiness()
  const status = state.view().status()
  const stateCheck: Check = r.ready
    ? { ok: true, detail: `${state.description}${status.available ? '' : `; view unavailable, rules fail closed: ${status.reason ?? 'unknown'}`}${state.lastError() !== undefined && state.kind === 'files' ? `; last reload rejected: ${state.lastError()}` : ''}` }
    : { ok: false, detail: `${state.description}: ${r.reason ?? 'not ready'}` }

  let policyCheck: Check
  try {
    policy.current()
    const err = policy.lastError()
    policyCheck = { ok: true, detail: `${policy.description}${err === undefined ? '' : `; last reload rejected: ${err}`}` }
  } catch (e) {
    policyCheck = { ok: false, detail: `no policy loaded: ${e instanceof Error ? e.message : String(e)}` }
  }

  let certificate: Check
  if (tls === undefined) {
    certificate = { ok: true, detail: 'not used (plain HTTP)' }
  } else {
    const info = tls.info()
    const expires = new Date(info.validTo).toISOString()
    certificate =
      info.validTo <= now
        ? { ok: false, detail: `serving certificate expired at ${expires}` }
        : info.validFrom > now
          ? { ok: false, detail: `serving certificate not valid before ${new Date(info.validFrom).toISOString()}` }
          : { ok: true, detail: `${tls.description}, serial ${info.serialNumber}, expires ${expires}` }
  }
  const shutdown: Check = options.lifecycle.draining ? { ok: false, detail: 'shutting down' } : { ok: true, detail: 'serving' }
  const checks = { state: stateCheck, policy: policyCheck, certificate, shutdown }
  const missing = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.detail}`)
  const caches = state.caches?.()
  return { ready: missing.length === 0, missing, checks, ...(caches === undefined ? {} : { caches }) }
}

export async function healthPlugin(app: FastifyInstance, options: HealthPluginOptions): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const report = checkReadiness(options)
    return reply.code(report.ready ? 200 : 503).send(report)
  })
  allowOnly(app, '/healthz', ['GET'])
  allowOnly(app, '/readyz', ['GET'])
}
