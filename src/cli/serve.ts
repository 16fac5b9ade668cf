/**
 * @module cli/serve
 * `upgrade-guard serve`: the admission webhook (HTTPS, POST /validate and /mutate) with health,
 * readiness and Prometheus metrics. Maps flags onto server/run and SIGTERM/SIGINT onto a
 * graceful shutdown (exit 0 once every in-flight request is answered). stdout carries JSON log
 * lines only (log pipelines parse every line); the plain-text banner printed after listening —
 * where it listens and a curl line that works as printed — goes to stderr.
 */
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Option, type Command } from 'commander'
import { parseManagementVersion } from '../audit/management-skew.js'
import { UpgradeGuardError } from '../errors.js'
import { createLogger, LOG_LEVELS, writePlain } from '../log.js'
import { DEFAULT_POLICY_FILE } from '../policy/load.js'
import { DEFAULT_CERT_DIR, DEFAULT_SANS } from '../server/certificates.js'
import type { RunningServer, StateChoice, TlsChoice } from '../server/run.js'

interface ServeFlags {
  readonly host: string
  readonly port: number
  readonly metricsPort: number
  readonly policy: string
  readonly state?: string[]
  readonly kubeconfig?: string
  readonly inCluster?: boolean
  readonly tlsCert?: string
  readonly tlsKey?: string
  readonly selfSigned?: boolean
  readonly san?: string[]
  readonly caOut?: string
  readonly certDir?: string
  readonly logLevel: string
  readonly pollInterval: number
  readonly requestTimeout: number
  readonly shutdownDelay: number
  readonly shutdownTimeout: number
  readonly auditInterval: number
  readonly auditDebounce: number
  readonly managementVersion?: string
}

/** The sample review the printed curl line sends. */
export const SAMPLE_REVIEW = 'kcp-skip-minor.json'

const integer =
  (flag: string, min: number, max: number) =>
  (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UpgradeGuardError('UG_ERR_USAGE', `${flag}: ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`)
    }
    return n
  }

const seconds =
  (flag: string, max: number) =>
  (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new UpgradeGuardError('UG_ERR_USAGE', `${flag}: ${JSON.stringify(value)} is not a number of seconds from 0 to ${max}`)
    return n
  }

function managementVersionFlag(value: string): string {
  if (parseManagementVersion(value) === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', `--management-version: ${JSON.stringify(value.slice(0, 64))} is not a Kubernetes version (e.g. v1.33.4)`)
  return value.trim()
}

function stateChoice(flags: ServeFlags): StateChoice {
  const given = [flags.state !== undefined, flags.kubeconfig !== undefined, flags.inCluster === true].filter(Boolean).length
  if (given > 1) throw new UpgradeGuardError('UG_ERR_USAGE', '--state, --kubeconfig and --in-cluster are alternatives: give one')
  if (flags.state !== undefined) return { kind: 'files', paths: flags.state }
  if (flags.kubeconfig !== undefined) return { kind: 'live', kubeconfig: flags.kubeconfig }
  if (flags.inCluster === true) return { kind: 'live' }
  throw new UpgradeGuardError('UG_ERR_USAGE', 'give the cluster state: --state PATH (files, watched), --kubeconfig FILE or --in-cluster (live caches)')
}

function tlsChoice(flags: ServeFlags): TlsChoice {
  const files = flags.tlsCert !== undefined || flags.tlsKey !== undefined
  if (files && flags.selfSigned === true) throw new UpgradeGuardError('UG_ERR_USAGE', '--tls-cert/--tls-key and --self-signed are alternatives: give one')
  if (flags.selfSigned !== true && (flags.san !== undefined || flags.caOut !== undefined || flags.certDir !== undefined)) throw new UpgradeGuardError('UG_ERR_USAGE', '--san, --ca-out and --cert-dir go with --self-signed')
  if (files) {
    if (flags.tlsCert === undefined || flags.tlsKey === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--tls-cert and --tls-key go together: give both')
    return { kind: 'files', certFile: flags.tlsCert, keyFile: flags.tlsKey }
  }
  if (flags.selfSigned === true) return { kind: 'self-signed', sans: flags.san ?? DEFAULT_SANS, certDir: flags.certDir ?? DEFAULT_CERT_DIR, ...(flags.caOut !== undefined ? { caOut: flags.caOut } : {}) }
  throw new UpgradeGuardError('UG_ERR_USAGE', 'give a serving certificate: --tls-cert FILE --tls-key FILE, or --self-signed [--san NAME|IP ...] [--ca-out FILE]')
}

/** Where curl should connect: a name or address the certificate is valid for. */
export function curlHost(host: string, sans: readonly string[]): string {
  const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]'
  const pick = wildcard ? (['127.0.0.1', 'localhost', '::1'].find((h) => sans.includes(h)) ?? sans[0] ?? '127.0.0.1') : host
  return isIP(pick) === 6 ? `[${pick}]` : pick
}

/** examples/reviews/<file>, relative to the working directory when it is there, else absolute. */
export function sampleReviewPath(file = SAMPLE_REVIEW): string {
  const local = `examples/reviews/${file}`
  if (existsSync(local)) return local
  const packaged = fileURLToPath(new URL(`../../examples/reviews/${file}`, import.meta.url))
  const rel = relative(process.cwd(), packaged)
  return rel.startsWith('..') ? resolve(packaged) : rel
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

export function readyText(running: RunningServer, host: string, tls: TlsChoice): string {
  const shown = host === '' ? '0.0.0.0' : host
  const lines = [`upgrade-guard: webhook listening on https://${isIP(shown) === 6 ? `[${shown}]` : shown}:${running.port} (POST /validate, POST /mutate, GET /healthz, /readyz, /metrics)`]
  if (running.metricsPort !== undefined) lines.push(`upgrade-guard: metrics on http://${isIP(shown) === 6 ? `[${shown}]` : shown}:${running.metricsPort}/metrics`)
  if (tls.kind === 'self-signed') {
    // The CA is kept in the certificate folder (reused at the next start); --ca-out is a copy.
    const ca = tls.caOut ?? join(tls.certDir ?? DEFAULT_CERT_DIR, 'ca.crt')
    const url = `https://${curlHost(host, tls.sans)}:${running.port}/validate`
    lines.push('upgrade-guard: send it a sample review (denied: KCP v1.32.8 -> v1.34.5-3 skips a minor):')
    lines.push(`curl --cacert ${shellQuote(ca)} -H 'Content-Type: application/json' --data @${shellQuote(sampleReviewPath())} ${url}`)
  }
  return `${lines.join('\n')}\n`
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the admission webhook: HTTPS POST /validate and /mutate, GET /healthz, /readyz, /metrics')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'HTTPS port of the webhook', integer('--port', 0, 65535), 8443)
    .option('--metrics-port <port>', 'plain-HTTP port for GET /metrics (0: only on the HTTPS port)', integer('--metrics-port', 0, 65535), 9090)
    .option('--policy <file>', 'policy file (re-read on change; a bad edit is rejected and the last good policy kept)', DEFAULT_POLICY_FILE)
    .option('--state <path...>', 'cluster state from manifest files or folders, re-read on change')
    .option('--kubeconfig <file>', 'cluster state from live list+watch caches, with this kubeconfig')
    .option('--in-cluster', "cluster state from live caches, with the pod's service account")
    .option('--tls-cert <file>', 'serving certificate (PEM chain), reloaded when it changes on disk')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--self-signed', 'use a CA and serving certificate kept in --cert-dir, generated when missing, expired or not covering --san')
    .option('--cert-dir <dir>', `where --self-signed keeps its CA, key and serving certificate (reused across restarts; default ${DEFAULT_CERT_DIR})`)
    .option('--san <name...>', `DNS names / IP addresses of the generated certificate (default: ${DEFAULT_SANS.join(', ')})`)
    .option('--ca-out <file>', 'write the generated CA certificate (PEM) here, for a webhook caBundle or curl --cacert')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--poll-interval <ms>', 'how often watched files are checked', integer('--poll-interval', 50, 600_000), 1000)
    .option('--request-timeout <seconds>', 'a request must arrive within this (keep it below the webhook timeoutSeconds)', seconds('--request-timeout', 60), 4)
    .option('--shutdown-delay <seconds>', 'after SIGTERM, keep answering (not ready) this long before closing', seconds('--shutdown-delay', 120), 0)
    .option('--shutdown-timeout <seconds>', 'after SIGTERM, cut requests still running after this', seconds('--shutdown-timeout', 600), 25)
    .option('--audit-interval <seconds>', 'audit every existing object this often, and when the state changes (GET /audit, upgrade_guard_audit_findings); 0: off', seconds('--audit-interval', 86_400), 300)
    .option('--audit-debounce <seconds>', 'after a state change, wait this long without further changes before re-auditing', seconds('--audit-debounce', 600), 2)
    .option('--management-version <version>', "the management cluster's Kubernetes version, for the management-version rule and the audit's skew check with --state (live state reads GET /version)")
    .action(async (flags: ServeFlags) => {
      const state = stateChoice(flags)
      const tls = tlsChoice(flags)
      const logger = createLogger({ level: flags.logLevel })
      const requestTimeoutMs = Math.max(100, Math.round(flags.requestTimeout * 1000))
      // Loaded on demand: review/validate/plan start without fastify and the TLS stack.
      const { runServer } = await import('../server/run.js')
      const running = await runServer({
        host: flags.host,
        port: flags.port,
        metricsPort: flags.metricsPort,
        policyFile: flags.policy,
        state,
        tls,
        logger,
        pollIntervalMs: flags.pollInterval,
        limits: { requestTimeoutMs, headersTimeoutMs: requestTimeoutMs, handshakeTimeoutMs: requestTimeoutMs },
        shutdownDelayMs: Math.round(flags.shutdownDelay * 1000),
        shutdownTimeoutMs: Math.round(flags.shutdownTimeout * 1000),
        audit: { intervalMs: Math.round(flags.auditInterval * 1000), debounceMs: Math.round(flags.auditDebounce * 1000), ...(flags.managementVersion !== undefined ? { managementVersion: managementVersionFlag(flags.managementVersion) } : {}) },
      })
      const stop = (signal: NodeJS.Signals): void => {
        void running.shutdown(signal).then(
          (clean) => process.exit(clean ? 0 : 1),
          (e: unknown) => {
            logger.error({ err: e }, 'shutdown failed')
            process.exit(1)
          },
        )
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      // stderr, never stdout: stdout is JSON lines only, for log pipelines (the log lines queued
      // before it are flushed first, so a reader sees "listening" before the banner).
      writePlain(logger, readyText(running, flags.host, tls))
    })
}
