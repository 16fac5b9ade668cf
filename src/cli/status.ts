/**
 * @module cli/status
 * `upgrade-guard status --cluster NS/NAME (--state DIR | --kubeconfig FILE) [-o text|json]
 * [--watch]`: where an upgrade stands and what blocks it (src/status). Exit codes: 0 the cluster
 * is at its target and every verification check holds, 1 something blocks, 3 a rollout is in
 * progress without a problem, 2 usage or input errors. `--watch` redraws whenever the output
 * changes (live: the list/watch caches; files: re-read) until interrupted, and exits with the
 * code of the last frame.
 */
import { Option, type Command } from 'commander'
import { UpgradeGuardError } from '../errors.js'
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { loadFileView } from '../state/file-view.js'
import type { MemoryView } from '../state/memory-view.js'
import { clusterStatus } from '../status/model.js'
import { formatStatusText } from '../status/format.js'
import { parseVersion } from '../versions/version.js'
import { loadKubeConfig, loadLiveStateOnce } from './live-state.js'
import { parseClusterRef } from './plan.js'

export const STATUS_FORMATS = ['text', 'json'] as const
type StatusFormat = (typeof STATUS_FORMATS)[number]

interface StatusOptions {
  readonly cluster: string
  readonly state?: string[]
  readonly kubeconfig?: string
  readonly context?: string
  readonly policy: string
  readonly output: StatusFormat
  readonly watch?: boolean
  readonly interval: string
  readonly managementVersion?: string
}

/** --management-version for file state: a version, or a usage error naming the flag. */
export function applyManagementVersion(view: MemoryView, value: string | undefined): void {
  if (value === undefined) return
  const parsed = parseVersion(value.replace(/\+.*$/, ''))
  if (!parsed.ok) throw new UpgradeGuardError('UG_ERR_USAGE', `--management-version: "${value}" is not a version${parsed.fixed === undefined ? '' : `; use "${parsed.fixed}"`}`, { field: '--management-version' })
  view.lifecycleIndex.setManagementVersion(value)
}

/** One frame: the rendered text and the exit code it stands for. */
export function renderStatus(view: ClusterView, policy: Policy, ref: { namespace: string; name: string }, format: StatusFormat, terminal: { readonly colour: boolean; readonly isTty: boolean }): { text: string; code: number } {
  if (!view.status().available) return { text: `upgrade-guard: the cluster-state view is unavailable (${view.status().reason ?? 'not synced'})\n`, code: 1 }
  const result = clusterStatus(view, policy, ref.namespace, ref.name)
  if (!result.ok) throw new UpgradeGuardError('UG_ERR_INPUT', result.reason)
  // JSON: indented for a person at a terminal, one line per frame for a pipe (--watch | jq).
  const text = format === 'json' ? `${JSON.stringify(result.status, null, terminal.isTty ? 2 : undefined)}\n` : formatStatusText(result.status, { colour: terminal.colour })
  return { text, code: result.status.exitCode }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('where an upgrade of one cluster stands: rollout progress, the verification checks, and a diagnosis with fixes')
    .requiredOption('--cluster <namespace/name>', 'the CAPI Cluster')
    .option('--state <path...>', 'cluster state: manifest files or folders (kubectl get -o yaml output)')
    .option('--kubeconfig <file>', 'read the state from a cluster instead (list, and watch with --watch)')
    .option('--context <name>', 'kubeconfig context to use (with --kubeconfig)')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .option('--management-version <version>', "the management cluster's Kubernetes version (file state; live reads GET /version)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(STATUS_FORMATS).default('text'))
    .option('-w, --watch', 'redraw whenever the status changes, until interrupted')
    .option('--interval <ms>', 'with --watch: how often to look for a change', '1000')
    .action(async (opts: StatusOptions) => {
      const ref = parseClusterRef(opts.cluster)
      const policy = loadPolicy(opts.policy)
      if (opts.state !== undefined && opts.kubeconfig !== undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--state and --kubeconfig are alternatives: give one')
      if (opts.state === undefined && opts.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', 'give the cluster state with --state PATH (or --kubeconfig FILE)')
      if (opts.context !== undefined && opts.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--context needs --kubeconfig')
      const interval = Number(opts.interval)
      if (!Number.isInteger(interval) || interval < 50) throw new UpgradeGuardError('UG_ERR_USAGE', `--interval: "${opts.interval}" is not a number of milliseconds (50 or more)`, { field: '--interval' })
      const isTty = process.stdout.isTTY === true
      const colour = isTty && process.env.NO_COLOR === undefined
      const fromFiles = (): MemoryView => {
        const view = loadFileView(opts.state ?? [], policy.catalog).view
        applyManagementVersion(view, opts.managementVersion)
        return view
      }
      if (opts.watch !== true) {
        const view = opts.kubeconfig !== undefined ? await loadLiveStateOnce(opts.kubeconfig, policy, opts.context) : fromFiles()
        const frame = renderStatus(view, policy, ref, opts.output, { colour, isTty })
        process.stdout.write(frame.text)
        process.exitCode = frame.code
        return
      }
      const abort = new AbortController()
      const onSignal = (): void => abort.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const live = opts.kubeconfig === undefined ? undefined : await startLive(opts.kubeconfig, policy, opts.context)
      try {
        let last: string | undefined
        while (!abort.signal.aborted) {
          const view = live ?? fromFiles()
          const frame = renderStatus(view, policy, ref, opts.output, { colour, isTty })
          process.exitCode = frame.code
          if (frame.text !== last) {
            // A TTY gets the frame redrawn in place; a pipe gets each new frame after the last.
            process.stdout.write(isTty ? `\u001b[H\u001b[2J${frame.text}` : opts.output === 'json' ? frame.text : `${frame.text}\n`)
            last = frame.text
          }
          await sleep(interval, abort.signal)
        }
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        await live?.stop()
      }
    })
}



async function startLive(file: string, policy: Policy, context: string | undefined): Promise<import('../state/informer-view.js').InformerView> {
  const { startInformerView } = await import('../state/informer-view.js')
  const view = await startInformerView({ kubeConfig: await loadKubeConfig(file, context), policy, lifecycle: true })
  if (!(await view.waitForSync(30_000))) {
    const reason = view.status().reason ?? 'not synced'
    await view.stop()
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `the live caches did not sync within 30 s: ${reason}`)
  }
  return view
}
