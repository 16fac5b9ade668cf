/**
 * @module log
 * The process logger: pino, one JSON object per line on stdout. Child loggers carry the bindings
 * `uid`, `kind`, `namespace`, `name` and `rule`. Nothing secret is ever logged: no object bodies
 * (names only), no tokens, no request headers.
 *
 * @example
 * const logger = createLogger({ level: 'info' })
 * logger.child({ uid, kind: 'KubeadmControlPlane', namespace, name }).info({ allowed: false }, 'decision')
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import { UpgradeGuardError } from './errors.js'

export type { Logger } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface LoggerOptions {
  readonly level?: string
  /** Where the lines go; stdout (synchronously) when not given. */
  readonly destination?: DestinationStream
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value)
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  if (!isLogLevel(level)) throw new UpgradeGuardError('UG_ERR_USAGE', `--log-level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  const settings = {
    level,
    base: { name: 'upgrade-guard' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Belt and braces: the code never logs these, but a stray object must not leak them.
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'object', 'oldObject'], censor: '[redacted]' },
  }
  return options.destination === undefined ? pino(settings, pino.destination({ dest: 1, sync: true })) : pino(settings, options.destination)
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
