/**
 * @module server/policy-source
 * The policy the server decides with, re-read when its file changes. A bad policy fails
 * start-up; a bad edit later is rejected with one clear log line and the last good policy stays
 * in force (a typo in a ConfigMap must never take the webhook down).
 */
import { isDeepStrictEqual } from 'node:util'
import { isUpgradeGuardError } from '../errors.js'
import type { Logger } from '../log.js'
import { loadPolicy } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import { watchPaths, type Watch } from './watch.js'

export interface PolicyProvider {
  /** The policy in force; read it per request, it may be swapped by a reload. */
  current(): Policy
  /** Where it came from, for logs and /readyz. */
  readonly description: string
  /** Why the last reload was rejected, while the last good policy is kept. */
  lastError(): string | undefined
}

export interface PolicySource extends PolicyProvider {
  /** Called after a successful reload that changed the policy. */
  onChange(listener: (next: Policy, previous: Policy) => void): void
  /** Re-reads the file now. */
  reload(): Promise<void>
  close(): void
}

export type ReloadListener = (ok: boolean) => void

export interface PolicySourceOptions {
  readonly file: string
  readonly logger: Logger
  readonly intervalMs?: number
  readonly onReload?: ReloadListener
}

export const errorLine = (e: unknown): string => (isUpgradeGuardError(e) ? e.toLine() : e instanceof Error ? e.message : String(e))

/** A fixed policy (tests, embedding). */
export function staticPolicy(policy: Policy, description = 'static policy'): PolicyProvider {
  return { current: () => policy, description, lastError: () => undefined }
}

/** Loads the policy (throws UpgradeGuardError when it is bad) and watches the file. */
export function startPolicySource(options: PolicySourceOptions): PolicySource {
  const { file, logger } = options
  const log = logger.child({ source: 'policy', file })
  let policy = loadPolicy(file)
  let lastError: string | undefined
  const listeners: Array<(next: Policy, previous: Policy) => void> = []

  const reload = (): void => {
    let next: Policy
    try {
      next = loadPolicy(file)
    } catch (e) {
      lastError = errorLine(e)
      options.onReload?.(false)
      log.error({ err_code: isUpgradeGuardError(e) ? e.code : undefined }, `policy reload rejected, keeping the last good policy: ${lastError}`)
      return
    }
    lastError = undefined
    options.onReload?.(true)
    if (isDeepStrictEqual(next, policy)) {
      log.debug('policy file changed, policy unchanged')
      return
    }
    const previous = policy
    policy = next
    log.info('policy reloaded')
    for (const listener of listeners) listener(next, previous)
  }

  const watch: Watch = watchPaths([file], reload, options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs })
  return {
    current: () => policy,
    description: file,
    lastError: () => lastError,
    onChange: (listener) => void listeners.push(listener),
    reload: async () => reload(),
    close: () => watch.close(),
  }
}
