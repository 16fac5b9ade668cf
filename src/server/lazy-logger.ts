/**
 * @module server/lazy-logger
 * fastify gives every request its own child logger (`request.log`, bound to the request id),
 * which costs pino a bindings serialization per request. The webhook writes per-request lines
 * only for errors and rejections, so `request.log` here is a stand-in that makes exactly that
 * child on first use: the same lines, with the same `reqId`, and no work for requests that log
 * nothing.
 */
import type { FastifyBaseLogger } from 'fastify'

type Bindings = Record<string, unknown>
type Method = (...args: unknown[]) => void

class LazyChildLogger {
  #child: FastifyBaseLogger | undefined
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: Bindings

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: Bindings) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options))
  }

  get level(): string {
    return this.#child?.level ?? (typeof this.#options.level === 'string' ? this.#options.level : this.#parent.level)
  }

  set level(level: string) {
    this.#real().level = level
  }

  fatal(...args: unknown[]): void {
    ;(this.#real().fatal as Method)(...args)
  }
  error(...args: unknown[]): void {
    ;(this.#real().error as Method)(...args)
  }
  warn(...args: unknown[]): void {
    ;(this.#real().warn as Method)(...args)
  }
  info(...args: unknown[]): void {
    ;(this.#real().info as Method)(...args)
  }
  debug(...args: unknown[]): void {
    ;(this.#real().debug as Method)(...args)
  }
  trace(...args: unknown[]): void {
    ;(this.#real().trace as Method)(...args)
  }
  silent(...args: unknown[]): void {
    ;(this.#real().silent as Method)(...args)
  }
  child(bindings: Bindings, options?: Bindings): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
  isLevelEnabled(level: string): boolean {
    const real = this.#real() as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }
    return real.isLevelEnabled?.(level) ?? true
  }
}

/** A `childLoggerFactory` for fastify: the child is made when something is first logged. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: object): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options as Bindings) as unknown as FastifyBaseLogger
}
