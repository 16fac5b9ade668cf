/**
 * @module log
 * The process logger: pino, one JSON object per line on stdout, and nothing else on stdout
 * (plain text goes to stderr). Child loggers carry the bindings `uid`, `kind`, `namespace`,
 * `object` (the object's name: `name` is the logger's own, and a line never carries a key twice)
 * and `rule`. Nothing secret is ever logged: no object bodies (names only), no tokens, no
 * request headers.
 *
 * Cheap per line, because the webhook writes one per decision: epoch-millisecond `time`, a
 * buffered destination (lines encoded into one buffer as they come and written, one write(2)
 * from the main thread, per 64 KiB instead of one per line; flushed every second, so a quiet
 * server still logs promptly, and at exit), and
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
  /** Where the lines go; stdout (buffered, flushed every second and at exit) when not given. */
  readonly destination?: DestinationStream
}

/**
 * Lines are written once this many bytes are gathered, or after {@link FLUSH_EVERY_MS}. 64 KiB is
 * what a Linux pipe (a container's stdout) holds. A write(2) to a file or a pipe costs about the
 * same at 8 KiB as at 64 KiB (page-cache and wake-up work per call), so a bigger piece is cheaper
 * per line: under load, logging to a file rather than /dev/null cost the webhook 8–13 µs per
 * decision at 8 KiB, 2–4 at 64 KiB (issue 12; 1 MiB was slower again).
 */
const BUFFER_BYTES = 65_536
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
/** Per logger made here: its stream, for {@link lineWriterOf}. */
const streamsOf = new WeakMap<Logger, DestinationStream>()
/** Per decision logger: a writer of its info lines (see {@link lineWriterOf}). */
const writers = new WeakMap<Logger, LineWriter>()

/**
 * Writes one info line whose fields are `members`: the JSON text of an object's members, without
 * the braces (`"a":1,"b":"x"`; '' for none), with message `msg`.
 */
export type LineWriter = (members: string, msg: string) => void
const plainStreams = new WeakMap<Logger, { flushSync?: () => void }>()

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  if (!isLogLevel(level)) throw new UpgradeGuardError('UG_ERR_USAGE', `--log-level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
  const stream = options.destination ?? stdoutStream()
  const logger = pino(settings(level, true), stream)
  // The twin writes whatever it is given; logDecision asks the main logger's level first.
  twins.set(logger, pino(settings('trace', false), stream))
  streamsOf.set(logger, stream)
  if (options.destination === undefined) plainStreams.set(logger, stream as { flushSync?: () => void })
  return logger
}

/**
 * Lines gathered in memory and handed to SonicBoom in pieces of at most {@link BUFFER_BYTES}.
 * Each line is encoded into one buffer as it comes, so a line's string dies at once (nothing
 * for the garbage collector to keep alive or copy) and a piece costs no join, no second
 * encoding and no byte counting: SonicBoom, in buffer mode, writes the bytes it is given.
 * A line longer than a piece is handed on alone.
 */
interface BatchTarget {
  write(chunk: Buffer): unknown
  flush?(cb: (err?: Error) => void): void
  flushSync?(): void
}

export class LineBatcher implements DestinationStream {
  private buffer: Buffer
  private used = 0
  private readonly target: BatchTarget
  private readonly limit: number

  constructor(target: BatchTarget, limit = BUFFER_BYTES) {
    this.target = target
    this.limit = limit
    this.buffer = Buffer.allocUnsafe(limit)
  }

  write(line: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8: a line that may not fit goes after a drain.
    const most = line.length * 3
    if (this.used + most > this.limit) {
      this.drain()
      if (most > this.limit) {
        this.target.write(Buffer.from(line, 'utf8'))
        return
      }
    }
    this.used += this.buffer.write(line, this.used, 'utf8')
  }

  /** Hands what is gathered to the destination (which keeps the piece: a new buffer is started). */
  drain(): void {
    if (this.used === 0) return
    const piece = this.buffer.subarray(0, this.used)
    this.buffer = Buffer.allocUnsafe(this.limit)
    this.used = 0
    this.target.write(piece)
  }

  /** pino's logger.flush(cb): drained, then the destination's own flush (cb once written). */
  flush(cb?: (err?: Error) => void): void {
    this.drain()
    if (this.target.flush !== undefined) this.target.flush(cb ?? (() => undefined))
    else cb?.()
  }

  /** Everything gathered and queued, written before this returns. */
  flushSync(): void {
    this.drain()
    this.target.flushSync?.()
  }
}

function stdoutStream(): DestinationStream {
  // The batcher decides when to write; SonicBoom writes each piece at once, synchronously
  // (pino's own default). An asynchronous write goes through libuv's thread pool: a thread
  // wake-up and a hand-off per piece cost more CPU than the write(2) itself (issue 12's profile).
  const stdout = pino.destination({ dest: 1, sync: true, minLength: 0, contentMode: 'buffer' })
  // In buffer mode SonicBoom takes Buffers (its type declares only the string mode's write).
  const batcher = new LineBatcher(stdout as unknown as BatchTarget)
  // A quiet server still logs promptly.
  setInterval(() => batcher.drain(), FLUSH_EVERY_MS).unref()
  // What is still queued is written synchronously when the process exits.
  process.once('exit', () => {
    try {
      batcher.flushSync()
    } catch {
      // nothing left to do: the process is going away
    }
  })
  return batcher
}

/**
 * The logger for decision lines: `root`'s twin without redact, with the same bindings. Only for
 * lines whose fields are all written by our own code (ids, names, booleans, rule ids): redact
 * costs more than the rest of the line. Falls back to `root` itself for loggers made elsewhere.
 */
export function decisionLogger(root: Logger, bindings: Readonly<Record<string, unknown>>): Logger {
  const logger = (twins.get(root) ?? root).child(bindings)
  const stream = streamsOf.get(root)
  if (stream !== undefined) writers.set(logger, infoLineWriter(stream, bindings))
  return logger
}

/**
 * The decision logger's info lines written directly: the same line pino writes (`level`, `time`,
 * `name`, the bindings, the fields in order, `msg`), from members the caller wrote as JSON text
 * (server/log builds them without an object in between). pino serializes each value on its own
 * (its array values through safe-stable-stringify), which cost as much as the whole decision.
 * Undefined for loggers not made by {@link decisionLogger} over {@link createLogger}.
 */
export function lineWriterOf(logger: Logger): LineWriter | undefined {
  return writers.get(logger)
}

function infoLineWriter(stream: DestinationStream, bindings: Readonly<Record<string, unknown>>): LineWriter {
  const bound = JSON.stringify({ name: 'upgrade-guard', ...bindings }).slice(1, -1)
  const head = `{"level":"info","time":`
  const after = `,${bound}`
  return (members, msg) => {
    stream.write(`${head}${Date.now()}${after}${members === '' ? '' : `,${members}`},"msg":${JSON.stringify(msg)}}\n`)
  }
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
