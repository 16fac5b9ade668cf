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
  /** Where the lines go; stdout (asynchronously, flushed at exit) when not given. */
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
  if (options.destination !== undefined) return pino(settings, options.destination)
  // Asynchronous writes keep the admission path off a blocking write(2) per decision (it was a
  // fifth of the webhook's CPU under load); no minLength, so a quiet server still logs at once.
  // What is still queued is written synchronously when the process exits.
  const stdout = pino.destination({ dest: 1, sync: false })
  process.once('exit', () => {
    try {
      stdout.flushSync()
    } catch {
      // nothing left to do: the process is going away
    }
  })
  const logger = pino(settings, stdout)
  plainStreams.set(logger, stdout)
  return logger
}

const plainStreams = new WeakMap<Logger, { write(text: string): unknown }>()

/**
 * Writes plain text (not a log line) to the logger's own stream, so it lands after the log lines
 * queued before it; to stdout when the logger writes elsewhere.
 */
export function writePlain(logger: Logger, text: string): void {
  const stream = plainStreams.get(logger)
  if (stream === undefined) process.stdout.write(text)
  else stream.write(text)
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
