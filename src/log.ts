/**
 * @module log
 * The process logger: pino, one JSON object per line on stdout, and nothing else on stdout
 * (plain text goes to stderr). Child loggers carry the bindings `uid`, `kind`, `namespace`,
 * `object` (the object's name: `name` is the logger's own, and a line never carries a key twice)
 * and `rule`. Nothing secret is ever logged: no object bodies (names only), no tokens, no
 * request headers.
 *
 * Cheap per line, because the webhook writes one per decision: epoch-millisecond `time`, a
 * buffered asynchronous destination (one write(2) per ~4 KiB of lines instead of one per line;
 * flushed every second, so a quiet server still logs promptly, and synchronously at exit), and
 * `redact` kept off the decision lines, whose fields are fixed (see {@link decisionLogger}).
 *
 * @example
 * const logger = createLogger({ level: 'info' })
 * logger.child({ uid, kind: 'KubeadmControlPlane', namespace, object: name }).info({ allowed: false }, 'decision')
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino'
import { UpgradeGuardError } from './errors.js'

export type { Logger } from 'pino'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface LoggerOptions {
  readonly level?: string
  /** Where the lines go; stdout (buffered, asynchronously, flushed at exit) when not given. */
  readonly destination?: DestinationStream
}

/** Lines are written once this many bytes are queued, or after {@link FLUSH_EVERY_MS}. */
const BUFFER_BYTES = 4096
const FLUSH_EVERY_MS = 1000

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value)
}

const formatters = { level: (label: string) => ({ level: label }) }

function settings(level: LogLevel, redact: boolean): PinoOptions {
  return {
    level,
    base: { name: 'upgrade-guard' },
    timestamp: pino.stdTimeFunctions.epochTime,
    formatters,
    // Belt and braces: the code never logs these, but a stray object must not leak them.
    ...(redact ? { redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token', 'oldObject', 'object.*'], censor: '[redacted]' } } : {}),
  }
}

/** Per logger made here: a twin on the same stream without redact, for the decision lines. */
const twins = new WeakMap<Logger, Logger>()
const plainStreams = new WeakMap<Logger, { flushSync?: () => void }>()

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  if (!isLogLevel(level)) throw new UpgradeGuardError('UG_ERR_USAGE', `--log-level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  const stream = options.destination ?? stdoutStream()
  const logger = pino(settings(level, true), stream)
  // The twin writes whatever it is given; logDecision asks the main logger's level first.
  twins.set(logger, pino(settings('trace', false), stream))
  if (options.destination === undefined) plainStreams.set(logger, stream as { flushSync?: () => void })
  return logger
}

function stdoutStream(): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES, periodicFlush: FLUSH_EVERY_MS })
  // What is still queued is written synchronously when the process exits.
  process.once('exit', () => {
    try {
      stdout.flushSync()
    } catch {
      // nothing left to do: the process is going away
    }
  })
  return stdout
}

/**
 * The logger for decision lines: `root`'s twin without redact, with the same bindings. Only for
 * lines whose fields are all written by our own code (ids, names, booleans, rule ids): redact
 * costs more than the rest of the line. Falls back to `root` itself for loggers made elsewhere.
 */
export function decisionLogger(root: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  return (twins.get(root) ?? root).child(bindings)
}

/**
 * Writes plain text (not a log line) to stderr: stdout carries JSON lines only. The log lines
 * queued before it are flushed first, so on a terminal the text still comes after them.
 */
export function writePlain(logger: Logger, text: string): void {
  try {
    plainStreams.get(logger)?.flushSync?.()
  } catch {
    // a write in flight: the text may show before the last lines, nothing is lost
  }
  process.stderr.write(text)
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
