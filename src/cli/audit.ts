/**
 * @module cli/audit
 * `upgrade-guard audit`: every guarded object of a state snapshot (files, or a cluster listed
 * once) judged as it stands, with the webhook's rules and engine; findings grouped per cluster
 * and rule. Exit 1 when any finding is at deny level, 0 otherwise, 2 on usage or input errors.
 */
import { Option, type Command } from 'commander'
import { hasDenyFinding, runAudit } from '../audit/audit.js'
import { parseManagementVersion } from '../audit/management-skew.js'
import { UpgradeGuardError } from '../errors.js'
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { loadFileView } from '../state/file-view.js'
import { loadLiveStateOnce } from './live-state.js'
import { formatAuditReport } from './formats/audit-formats.js'
import { OUTPUT_FORMATS, type OutputFormat } from './formats/index.js'

interface AuditFlags {
  readonly state?: string[]
  readonly kubeconfig?: string
  readonly policy: string
  readonly output: OutputFormat
  readonly managementVersion?: string
  readonly context?: string
}

interface Loaded {
  readonly view: ClusterView
  readonly source: string
  readonly managementVersion: string | undefined
}

async function loadState(flags: AuditFlags, policy: Policy): Promise<Loaded> {
  if (flags.state !== undefined && flags.kubeconfig !== undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--state and --kubeconfig are alternatives: give one')
  if (flags.managementVersion !== undefined && parseManagementVersion(flags.managementVersion) === undefined) {
    throw new UpgradeGuardError('UG_ERR_USAGE', `--management-version: ${JSON.stringify(flags.managementVersion.slice(0, 64))} is not a Kubernetes version (e.g. v1.33.4)`)
  }
  if (flags.state !== undefined) {
    return { view: loadFileView(flags.state, policy.catalog).view, source: `files ${flags.state.join(', ')}`, managementVersion: flags.managementVersion }
  }
  if (flags.context !== undefined && flags.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--context needs --kubeconfig')
  if (flags.kubeconfig !== undefined) {
    // The same one-off list as validate/plan/status (lifecycle kinds and GET /version included).
    const view = await loadLiveStateOnce(flags.kubeconfig, policy, flags.context)
    const managementVersion = flags.managementVersion ?? view.managementVersion()
    if (managementVersion === undefined) {
      throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read the management cluster's version (GET /version): ${view.lifecycle().managementVersionProblem() ?? 'no answer'}`)
    }
    return { view, source: `cluster (kubeconfig ${flags.kubeconfig})`, managementVersion }
  }
  throw new UpgradeGuardError('UG_ERR_USAGE', 'give the state to audit: --state PATH (files, e.g. a nightly snapshot) or --kubeconfig FILE (a cluster, listed once)')
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('judge every guarded object of a state as it stands (existing KCPs, MDs, the catalog) with the webhook\'s rules; exit 1 on deny-level findings')
    .option('--state <path...>', 'cluster state: manifest files or folders (kubectl get -o yaml output)')
    .option('--kubeconfig <file>', 'read the state once from a cluster instead (list only), and its version from GET /version')
    .option('--context <name>', 'kubeconfig context to use (with --kubeconfig)')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .option('--management-version <version>', 'the management cluster\'s Kubernetes version (files; live: GET /version), for the version-skew check')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('text'))
    .action(async (flags: AuditFlags) => {
      const policy = loadPolicy(flags.policy)
      const loaded = await loadState(flags, policy)
      const report = runAudit(loaded.view, policy, { source: loaded.source, managementVersion: loaded.managementVersion })
      process.stdout.write(formatAuditReport(report, flags.output))
      process.exitCode = hasDenyFinding(report) ? 1 : 0
    })
}
