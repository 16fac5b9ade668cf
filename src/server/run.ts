/**
 * @module server/run
 * Starts everything `upgrade-guard serve` runs: the policy (watched), the certificate (generated
 * or watched files), the state source (watched files or live caches), the HTTPS webhook and the
 * plain-HTTP metrics server, and stops them in order. The CLI maps flags onto RunOptions and
 * signals onto `shutdown()`.
 *
 * The ports are taken first, before anything slow (certificates, the Kubernetes client, the
 * caches): a port in use is a one-line error at once, not after every cache has started.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { UpgradeGuardError } from '../errors.js'
import type { Logger } from '../log.js'
import { DEFAULT_AUDIT_INTERVAL_MS, startAuditRunner, type AuditRunner } from './audit-runner.js'
import { buildMetricsServer, buildServer, type GuardServer, type ServerLimits } from './build-server.js'
import { DEFAULT_CERT_DIR, loadOrCreateSelfSigned, staticTls, startFileTls, writePem, type TlsSource } from './certificates.js'
import { ServerMetrics } from './metrics.js'
import type { Lifecycle } from './plugins/health.js'
import { errorLine, startPolicySource, type PolicySource } from './policy-source.js'
import { compactHeap } from './compact-heap.js'
import { startFileStateSource, startLiveStateSource, type StateSource } from './state-source.js'

export type StateChoice = { readonly kind: 'files'; readonly paths: readonly string[] } | { readonly kind: 'live'; readonly kubeconfig?: string }

export type TlsChoice =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'self-signed'; readonly sans: readonly string[]; readonly caOut?: string; readonly certDir?: string }

export interface RunOptions {
  readonly host: string
  readonly port: number
  /** 0: no separate metrics server (GET /metrics stays on the HTTPS port). */
  readonly metricsPort: number
  readonly policyFile: string
  readonly state: StateChoice
  readonly tls: TlsChoice
  readonly logger: Logger
  /** Poll period of the file watchers (policy, state files, certificate). */
  readonly pollIntervalMs?: number
  readonly limits?: Partial<ServerLimits>
  /** Stay up, not ready, this long after SIGTERM before closing (endpoint removal lag). */
  readonly shutdownDelayMs?: number
  /** Give in-flight requests this long, then cut what is left. */
  readonly shutdownTimeoutMs?: number
  /** The audit of existing objects (GET /audit, gauges); intervalMs 0 turns it off. Default: every 5 min. */
  readonly audit?: AuditSettings
}

export interface AuditSettings {
  readonly intervalMs: number
  readonly debounceMs?: number
  /** --management-version; without it, live state asks the API server (GET /version). */
  readonly managementVersion?: string
}

export interface RunningServer {
  readonly app: GuardServer
  readonly metricsApp: GuardServer | undefined
  readonly port: number
  readonly metricsPort: number | undefined
  readonly policy: PolicySource
  readonly state: StateSource
  readonly tls: TlsSource
  readonly metrics: ServerMetrics
  readonly lifecycle: Lifecycle
  /** Undefined when the audit is turned off. */
  readonly audit: AuditRunner | undefined
  /** Not ready, `Connection: close`, wait the delay, stop accepting, finish in-flight, stop sources. True when nothing had to be cut. */
  shutdown(reason: string): Promise<boolean>
}

const listenError = (host: string, port: number, what: string, e: unknown): UpgradeGuardError =>
  new UpgradeGuardError('UG_ERR_USAGE', `cannot listen on ${host}:${port} (${what}): ${(e as NodeJS.ErrnoException).code ?? errorLine(e)}`, { cause: e })

/** Binds a port (no connection is accepted on it) to hold it while the rest starts. Port 0 needs no holding. */
async function reservePort(host: string, port: number, what: string): Promise<Server | undefined> {
  if (port === 0) return undefined
  const holder = createServer()
  await new Promise<void>((resolve, reject) => {
    holder.once('error', (e) => reject(listenError(host, port, what, e)))
    holder.listen({ host, port, exclusive: true }, () => resolve())
  })
  holder.unref()
  return holder
}

const release = (holder: Server | undefined): Promise<void> => new Promise((resolve) => (holder === undefined ? resolve() : holder.close(() => resolve())))

async function listen(app: GuardServer, host: string, port: number, what: string, holder?: Server): Promise<number> {
  // Handed over within one tick: nothing else in this process binds it meanwhile.
  await release(holder)
  try {
    await app.listen({ host, port })
  } catch (e) {
    throw listenError(host, port, what, e)
  }
  return (app.server.address() as AddressInfo).port
}

async function startTls(choice: TlsChoice, logger: Logger, metrics: ServerMetrics, intervalMs: number | undefined): Promise<TlsSource> {
  if (choice.kind === 'files') {
    return startFileTls({ certFile: choice.certFile, keyFile: choice.keyFile, logger, onReload: (ok) => metrics.observeReload('certificate', ok), ...(intervalMs !== undefined ? { intervalMs } : {}) })
  }
  const dir = choice.certDir ?? DEFAULT_CERT_DIR
  const stored = await loadOrCreateSelfSigned(dir, choice.sans)
  if (choice.caOut !== undefined) writePem(choice.caOut, stored.material.caCert)
  const tls = staticTls(stored.material, `self-signed for ${choice.sans.join(', ')} (${dir})`)
  const fields = { certDir: dir, sans: choice.sans, caOut: choice.caOut ?? null, expires: new Date(tls.info().validTo).toISOString(), serial: tls.info().serialNumber }
  const message = {
    reused: 'reusing the stored self-signed CA and serving certificate',
    'reissued-serving': 'kept the stored CA, issued a new serving certificate',
    generated: 'generated a new self-signed CA and serving certificate (register the new caBundle)',
  }[stored.action]
  logger.info({ ...fields, action: stored.action, ...(stored.reason === undefined ? {} : { reason: stored.reason }) }, message)
  return tls
}

function startAudit(options: RunOptions, state: StateSource, policy: PolicySource, metrics: ServerMetrics): AuditRunner | undefined {
  const settings = options.audit ?? { intervalMs: DEFAULT_AUDIT_INTERVAL_MS }
  if (settings.intervalMs <= 0) return undefined
  let managementVersion: (() => Promise<string | undefined>) | undefined
  const fixed = settings.managementVersion
  if (fixed !== undefined) {
    managementVersion = async () => fixed
  } else if (options.state.kind === 'live') {
    // The live view reads GET /version itself (state/lifecycle-caches).
    managementVersion = async () => state.view().managementVersion()
  }
  return startAuditRunner({
    state,
    policy,
    metrics,
    logger: options.logger,
    intervalMs: settings.intervalMs,
    ...(settings.debounceMs !== undefined ? { debounceMs: settings.debounceMs } : {}),
    ...(managementVersion !== undefined ? { managementVersion } : {}),
  })
}

export async function runServer(options: RunOptions): Promise<RunningServer> {
  const { logger } = options
  const intervalMs = options.pollIntervalMs
  const every = intervalMs !== undefined ? { intervalMs } : {}
  const metrics = new ServerMetrics()
  const lifecycle: Lifecycle = { draining: false }
  const cleanups: Array<() => unknown> = []
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined)
  }

  try {
    const webhookHold = await reservePort(options.host, options.port, 'webhook')
    cleanups.push(() => release(webhookHold))
    const metricsHold = options.metricsPort === 0 || options.metricsPort === options.port ? undefined : await reservePort(options.host, options.metricsPort, 'metrics')
    cleanups.push(() => release(metricsHold))
    const policy = startPolicySource({ file: options.policyFile, logger, onReload: (ok) => metrics.observeReload('policy', ok), ...every })
    cleanups.push(() => policy.close())
    const tls = await startTls(options.tls, logger, metrics, intervalMs)
    cleanups.push(() => tls.close())

    let state: StateSource
    if (options.state.kind === 'files') {
      const managementVersion = options.audit?.managementVersion
      const files = startFileStateSource({ paths: options.state.paths, catalog: () => policy.current().catalog, logger, onReload: (ok) => metrics.observeReload('state', ok), ...every, ...(managementVersion === undefined ? {} : { managementVersion }) })
      policy.onChange((next, previous) => {
        if (next.catalog.namespace !== previous.catalog.namespace || next.catalog.name !== previous.catalog.name) void files.reload()
      })
      state = files
    } else {
      state = await startLiveStateSource({ policy, logger, ...(options.state.kubeconfig !== undefined ? { kubeconfig: options.state.kubeconfig } : {}) })
    }
    cleanups.push(() => state.close())

    const audit = startAudit(options, state, policy, metrics)
    if (audit !== undefined) cleanups.push(() => audit.close())
    const withAudit = audit === undefined ? {} : { audit }
    const app = await buildServer({ policy, state, tls, metrics, logger, lifecycle, ...withAudit, ...(options.limits !== undefined ? { limits: options.limits } : {}) })
    cleanups.push(() => app.close())
    compactHeap() // the start-up garbage (a state snapshot's parse above all) goes before the first request
    const port = await listen(app, options.host, options.port, 'webhook', webhookHold)

    let metricsApp: GuardServer | undefined
    let metricsPort: number | undefined
    if (options.metricsPort !== 0) {
      metricsApp = await buildMetricsServer({ metrics, policy, state, tls, lifecycle, logger, ...withAudit })
      cleanups.push(() => metricsApp?.close())
      metricsPort = await listen(metricsApp, options.host, options.metricsPort, 'metrics', metricsHold)
    }
    logger.info({ host: options.host, port, metricsPort: metricsPort ?? null, state: state.description, policy: policy.description, certificate: tls.description }, 'upgrade-guard webhook listening')

    let stopping: Promise<boolean> | undefined
    const shutdown = (reason: string): Promise<boolean> => {
      stopping ??= (async () => {
        lifecycle.draining = true
        const delay = options.shutdownDelayMs ?? 0
        logger.info({ reason, delayMs: delay }, 'shutting down: not ready any more, finishing in-flight requests')
        if (delay > 0) await new Promise((r) => setTimeout(r, delay))
        let isClean = true
        const timeoutMs = options.shutdownTimeoutMs ?? 25_000
        const force = setTimeout(() => {
          isClean = false
          logger.warn({ timeoutMs }, 'shutdown timeout: closing the connections still open')
          app.server.closeAllConnections()
          metricsApp?.server.closeAllConnections()
        }, timeoutMs)
        force.unref()
        await Promise.all([app.close(), metricsApp?.close()])
        clearTimeout(force)
        audit?.close()
        await state.close()
        policy.close()
        tls.close()
        logger.info({ clean: isClean }, 'stopped')
        return isClean
      })()
      return stopping
    }
    return { app, metricsApp, port, metricsPort, policy, state, tls, metrics, lifecycle, audit, shutdown }
  } catch (e) {
    await cleanup()
    throw e
  }
}
