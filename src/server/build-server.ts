/**
 * @module server/build-server
 * `buildServer(deps)` assembles the webhook (HTTPS when given a TlsSource, plain HTTP otherwise,
 * for `inject()` tests) without listening: one fastify plugin per concern (admission, health,
 * metrics, tls), every dependency passed in. `listen()` is the caller's business (cli/serve).
 *
 * Timeouts, from how the API server calls (reference/admission-reviews/README.md): it gives up
 * after the webhook's timeoutSeconds (5 s in manifests/), so receiving a request may take at
 * most 4 s, headers and TLS handshake included. It also keeps connections alive and does not
 * retry a POST that hits a connection the server just closed (kubernetes/kubernetes#127335),
 * so idle connections are kept 120 s: longer than the Go client's own 90 s idle timeout, the
 * client closes first. On shutdown every answer carries `Connection: close` and requests that
 * arrive on open connections are still answered (no 503).
 */
import type { Server as HttpsServer } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import fastify, { LogController, type FastifyError, type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { silentLogger, type Logger } from '../log.js'
import type { TlsSource } from './certificates.js'
import { installDirectAdmission } from './direct-admission.js'
import { clientErrorMessage, endpointOf, notFoundBody, type ErrorBody } from './http-errors.js'
import { lazyChildLogger } from './lazy-logger.js'
import { ServerMetrics } from './metrics.js'
import type { AuditRunner } from './audit-runner.js'
import { admissionPlugin, createAnswerer } from './plugins/admission.js'
import { auditPlugin } from './plugins/audit.js'
import { healthPlugin, type Lifecycle } from './plugins/health.js'
import { metricsPlugin } from './plugins/metrics.js'
import { tlsPlugin } from './plugins/tls.js'
import type { PolicyProvider } from './policy-source.js'
import type { StateSource } from './state-source.js'

export interface ServerLimits {
  /** Largest accepted body in bytes (413 above); the API server's own request limit is 3 MiB. */
  readonly bodyLimit: number
  /** Whole request (headers and body) must arrive within this; below the webhook timeout. */
  readonly requestTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly handshakeTimeoutMs: number
  /** Idle keep-alive connections are closed after this; above the API server's 90 s. */
  readonly keepAliveTimeoutMs: number
  /** How often Node checks the request and headers timeouts. */
  readonly connectionsCheckingIntervalMs: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyLimit: 3 * 1024 * 1024,
  requestTimeoutMs: 4_000,
  headersTimeoutMs: 4_000,
  handshakeTimeoutMs: 4_000,
  keepAliveTimeoutMs: 120_000,
  connectionsCheckingIntervalMs: 500,
}

export const SECURE_OPTIONS: SecureContextOptions = { minVersion: 'TLSv1.2' }

export interface ServerDeps {
  readonly policy: PolicyProvider
  readonly state: StateSource
  /** HTTPS with this certificate (reloaded on change); plain HTTP when absent. */
  readonly tls?: TlsSource
  readonly metrics?: ServerMetrics
  readonly logger?: Logger
  readonly limits?: Partial<ServerLimits>
  /** Shared with the caller, who sets `draining` on SIGTERM. */
  readonly lifecycle?: Lifecycle
  /** Also serve GET /metrics here (default true); GET /audit goes with it. */
  readonly serveMetrics?: boolean
  /** The audit of existing objects behind GET /audit (absent: no /audit route). */
  readonly audit?: AuditRunner
}

export type GuardServer = FastifyInstance

function baseOptions(limits: ServerLimits, logger: Logger): FastifyServerOptions {
  return {
    loggerInstance: logger.child({ component: 'http' }),
    // fastify makes a child logger (bindings serialized) for every request; the per-request
    // lines are rare (errors, rejections), so make it only when one is written.
    childLoggerFactory: lazyChildLogger,
    // One line per decision comes from the admission plugin; no per-request access log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: 0,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  }
}

function installErrorHandling(app: FastifyInstance, limits: ServerLimits, metrics: ServerMetrics, lifecycle: Lifecycle): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const code = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    const endpoint = endpointOf(request.url)
    if (endpoint !== undefined) metrics.observeRejected(endpoint, code)
    if (code >= 500) {
      request.log.error({ err: error, path: request.url.split('?', 1)[0] }, 'request failed')
      return reply.code(500).type('application/json; charset=utf-8').send({ error: 'internal error (see the webhook logs)' } satisfies ErrorBody)
    }
    const message = clientErrorMessage(error, request, limits.bodyLimit)
    request.log.info({ status: code, path: request.url.split('?', 1)[0] }, `rejected: ${message}`)
    return reply.code(code).type('application/json; charset=utf-8').send({ error: message } satisfies ErrorBody)
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).type('application/json; charset=utf-8').send(notFoundBody(request)))
  // Set at send time, so requests already in flight when SIGTERM came also close their
  // connection: the client then opens a new one, to a replica that is not going away.
  // A callback hook, not an async one: no promise per response.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.draining) reply.header('connection', 'close')
    done(null, payload)
  })
}

export async function buildServer(deps: ServerDeps): Promise<GuardServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...deps.limits }
  const logger = deps.logger ?? silentLogger()
  const metrics = deps.metrics ?? new ServerMetrics({ defaultMetrics: false })
  const lifecycle = deps.lifecycle ?? { draining: false }
  metrics.bind({ state: deps.state, ...(deps.tls !== undefined ? { tls: deps.tls } : {}) })
  const nodeServerOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
  }

  const app: GuardServer =
    deps.tls === undefined
      ? fastify({ ...baseOptions(limits, logger), http: nodeServerOptions })
      : (fastify<HttpsServer>({
          ...(baseOptions(limits, logger) as FastifyHttpsOptions<HttpsServer>),
          https: { ...SECURE_OPTIONS, ...nodeServerOptions, handshakeTimeout: limits.handshakeTimeoutMs, ...deps.tls.current() },
        }) as unknown as GuardServer)

  installErrorHandling(app, limits, metrics, lifecycle)
  if (deps.tls !== undefined) await app.register(tlsPlugin, { tls: deps.tls, secureOptions: SECURE_OPTIONS, logger })
  await app.register(healthPlugin, { policy: deps.policy, state: deps.state, ...(deps.tls !== undefined ? { tls: deps.tls } : {}), lifecycle })
  if (deps.serveMetrics !== false) await app.register(metricsPlugin, { metrics })
  if (deps.serveMetrics !== false && deps.audit !== undefined) await app.register(auditPlugin, { audit: deps.audit })
  const answerer = createAnswerer({ policy: deps.policy, state: deps.state, metrics, logger })
  await app.register(admissionPlugin, { answerer, bodyLimit: limits.bodyLimit })
  // The API server's calls skip fastify's routing (the same answerer, the same bytes); `inject()`
  // and every other request still go through fastify.
  installDirectAdmission(app.server, { answerer, bodyLimit: limits.bodyLimit, lifecycle, metrics, logger })
  return app
}

export interface MetricsServerDeps {
  readonly metrics: ServerMetrics
  readonly policy: PolicyProvider
  readonly state: StateSource
  readonly tls?: TlsSource
  readonly lifecycle?: Lifecycle
  readonly logger?: Logger
  readonly audit?: AuditRunner
}

/** The plain-HTTP side server for `--metrics-port`: GET /metrics, /audit, /healthz, /readyz. */
export async function buildMetricsServer(deps: MetricsServerDeps): Promise<GuardServer> {
  const limits = DEFAULT_LIMITS
  const lifecycle = deps.lifecycle ?? { draining: false }
  const app = fastify({ ...baseOptions(limits, deps.logger ?? silentLogger()), bodyLimit: 64 * 1024 })
  installErrorHandling(app, limits, deps.metrics, lifecycle)
  await app.register(metricsPlugin, { metrics: deps.metrics })
  if (deps.audit !== undefined) await app.register(auditPlugin, { audit: deps.audit })
  await app.register(healthPlugin, { policy: deps.policy, state: deps.state, ...(deps.tls !== undefined ? { tls: deps.tls } : {}), lifecycle })
  return app
}
