/**
 * @module cli/plan
 * `upgrade-guard plan --state PATH --cluster NS/NAME --to VERSION`: the numbered steps of a safe
 * upgrade (src/plan). Exit 0 with a plan, 1 when no safe plan exists (the reasons on stderr, and
 * in the JSON), 2 for usage or input errors.
 */
import { Option, type Command } from 'commander'
import { UpgradeGuardError } from '../errors.js'
import { DEFAULT_POLICY_FILE, loadPolicy } from '../policy/load.js'
import { formatPlanJson, formatPlanText, planUpgrade } from '../plan/index.js'
import { loadFileView } from '../state/file-view.js'
import { loadLiveStateOnce } from './live-state.js'
import { applyManagementVersion } from './status.js'

export const PLAN_FORMATS = ['text', 'json'] as const
type PlanFormat = (typeof PLAN_FORMATS)[number]

interface PlanOptions {
  readonly state?: string[]
  readonly kubeconfig?: string
  readonly context?: string
  readonly cluster: string
  readonly to: string
  readonly policy: string
  readonly output: PlanFormat
  readonly via?: string[]
  readonly requireCatalog?: boolean
  readonly managementVersion?: string
}

/** `ns/name` → parts; anything else is a usage error. */
export function parseClusterRef(value: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value)
  if (m === null) throw new UpgradeGuardError('UG_ERR_USAGE', `--cluster: "${value}" is not NAMESPACE/NAME (e.g. cpaas-system/bm-workload)`, { field: '--cluster' })
  return { namespace: m[1] as string, name: m[3] as string }
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('print the ordered, numbered steps of a safe upgrade of one cluster to a Kubernetes version')
    .option('--state <path...>', 'cluster state: manifest files or folders (kubectl get -o yaml output)')
    .option('--kubeconfig <file>', 'read the state once from a cluster instead (list only)')
    .option('--context <name>', 'kubeconfig context to use (with --kubeconfig)')
    .requiredOption('--cluster <namespace/name>', 'the CAPI Cluster to upgrade')
    .requiredOption('--to <version>', 'target Kubernetes version, a catalog key such as v1.34.5-3')
    .option('--policy <file>', 'policy file', DEFAULT_POLICY_FILE)
    .option('--via <version...>', 'versions to use for intermediate minors (default: the newest catalog key of each)')
    .option('--management-version <version>', "the management cluster's Kubernetes version (file state; --kubeconfig reads GET /version)")
    .option('--require-catalog', 'refuse when a catalog key is missing instead of planning its addition')
    .addOption(new Option('-o, --output <format>', 'output format').choices(PLAN_FORMATS).default('text'))
    .action(async (opts: PlanOptions) => {
      const { namespace, name } = parseClusterRef(opts.cluster)
      const policy = loadPolicy(opts.policy)
      if (opts.state !== undefined && opts.kubeconfig !== undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--state and --kubeconfig are alternatives: give one')
      if (opts.state === undefined && opts.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', 'give the cluster state with --state PATH (or --kubeconfig FILE)')
      if (opts.context !== undefined && opts.kubeconfig === undefined) throw new UpgradeGuardError('UG_ERR_USAGE', '--context needs --kubeconfig')
      const view = opts.kubeconfig !== undefined ? await loadLiveStateOnce(opts.kubeconfig, policy, opts.context) : loadFileView(opts.state ?? [], policy.catalog).view
      if (opts.kubeconfig === undefined) applyManagementVersion(view, opts.managementVersion)
      const result = planUpgrade(view, policy, { namespace, cluster: name, to: opts.to, requireCatalog: opts.requireCatalog === true, via: opts.via ?? [] })
      process.stdout.write(opts.output === 'json' ? formatPlanJson(result) : formatPlanText(result))
      if (result.refused) {
        for (const reason of result.reasons) process.stderr.write(`upgrade-guard: plan refused: ${reason}\n`)
        process.exitCode = 1
      } else {
        process.exitCode = 0
      }
    })
}
