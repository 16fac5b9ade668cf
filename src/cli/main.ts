#!/usr/bin/env node
/**
 * @module cli/main
 * `upgrade-guard`: review (one AdmissionReview from stdin, the webhook's exact answer),
 * validate (CI dry run of manifests against a state snapshot), plan, serve (the webhook).
 * Exit codes: 0 ok / all allowed, 1 something denied, 2 usage or input error (one line on stderr).
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { reviewText, serializeOutcome, type Endpoint } from '../admission/review.js'
import { isUpgradeGuardError, UpgradeGuardError } from '../errors.js'
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import { loadFileView } from '../state/file-view.js'
import { readManifests } from '../state/manifests.js'
import { MemoryView } from '../state/memory-view.js'
import { registerServe } from './serve.js'
import { registerPlan } from './plan.js'
import { applyManagementVersion, registerStatus } from './status.js'
import { registerAudit } from './audit.js'
import { formatReport, OUTPUT_FORMATS, type OutputFormat } from './formats/index.js'
import { runValidate } from './validate.js'
import { loadLiveStateOnce } from './live-state.js'

export const EXIT_OK = 0
export const EXIT_DENIED = 1
export const EXIT_USAGE = 2

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8')
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_INPUT', `cannot read standard input: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
  }
}

/**
 * State from files, or an empty (but available) view when no --state is given. Plain records
 * (state/memory-view RecordMode): `review` and `validate` answer once and exit.
 */
export function stateFrom(path: string | undefined, policy: Policy): MemoryView {
  return path === undefined ? new MemoryView(policy.catalog) : loadFileView([path], policy.catalog, 'plain').view
}

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('upgrade-guard')
    .description('Keeps Cluster API upgrades of bare-metal clusters safe: admission webhook and CI validator')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError()

  program
    .command('review')
    .description('read one AdmissionReview (admission.k8s.io/v1) from stdin and print the response the webhook sends')
    .option('--state <path>', 'cluster state: a manifest file or folder (kubectl get -o yaml output)')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .option('--mutate', 'answer as the mutating webhook (JSONPatch) instead of the validating one')
    .action((opts: { state?: string; policy: string; mutate?: boolean }) => {
      const policy = loadPolicy(opts.policy)
      const view = stateFrom(opts.state, policy)
      const endpoint: Endpoint = opts.mutate === true ? 'mutate' : 'validate'
      const outcome = reviewText(readStdin(), endpoint, { policy, view })
      if (outcome.kind === 'error') throw new UpgradeGuardError('UG_ERR_REVIEW_INVALID', outcome.message, { file: '<stdin>' })
      process.stdout.write(serializeOutcome(outcome))
    })

  program
    .command('validate')
    .description('dry-run proposed manifests, in order, against a state snapshot with the webhook\'s rules')
    .requiredOption('-f, --filename <path...>', 'manifest files or folders to validate (applied in order)')
    .option('--state <path>', 'cluster state: a manifest file or folder (kubectl get -o yaml output)')
    .option('--kubeconfig <file>', 'read the state once from a cluster instead (list only)')
    .option('--context <name>', 'kubeconfig context to use (with --kubeconfig)')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text'))
    .option('-n, --namespace <namespace>', 'namespace of objects that name none, as kubectl apply -n', 'default')
    .option('--user <name>', 'user the changes are judged as (bypass rights)', 'upgrade-guard-cli')
    .option('--group <name...>', 'groups of that user', [])
    .option('--management-version <version>', "the management cluster's Kubernetes version (file state; --kubeconfig reads GET /version)")
    .action(async (opts: { filename: string[]; state?: string; kubeconfig?: string; context?: string; policy: string; output: OutputFormat; namespace: string; user: string; group: string[]; managementVersion?: string }) => {
      const policy = loadPolicy(opts.policy)
      if (opts.state !== undefined && opts.kubeconfig !== undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--state and --kubeconfig are alternatives: give one')
      if (opts.context !== undefined && opts.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--context needs --kubeconfig')
      const view = opts.kubeconfig !== undefined ? await loadLiveStateOnce(opts.kubeconfig, policy, opts.context) : stateFrom(opts.state, policy)
      if (opts.kubeconfig === undefined) applyManagementVersion(view, opts.managementVersion)
      const entries = readManifests(opts.filename, 'UG_ERR_INPUT')
      const report = runValidate(entries, view, policy, { username: opts.user, groups: opts.group }, opts.namespace)
      process.stdout.write(formatReport(report, opts.output))
      process.exitCode = report.denied > 0 ? EXIT_DENIED : EXIT_OK
    })

  registerPlan(program)
  registerStatus(program)
  registerAudit(program)
  registerServe(program)
  return program
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv as string[])
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? EXIT_OK : EXIT_USAGE
      return
    }
    const line = isUpgradeGuardError(e) ? e.toLine() : e instanceof Error ? e.message : String(e)
    process.stderr.write(`upgrade-guard: ${line.split('\n')[0]}\n`)
    if (process.env.UPGRADE_GUARD_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`)
    process.exitCode = EXIT_USAGE
  }
}

await main(process.argv)
