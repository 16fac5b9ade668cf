/**
 * @module cli/live-state
 * `validate --kubeconfig` / `plan --kubeconfig`: read the live state once (list only, no watch)
 * for CI jobs and operators that can reach a cluster.
 */
import { delimiter } from 'node:path'
import type { KubeConfig } from '@kubernetes/client-node'
import { UpgradeGuardError } from '../errors.js'
import type { Policy } from '../policy/types.js'
import type { MemoryView } from '../state/memory-view.js'

const firstLine = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e))

/**
 * Loads a kubeconfig as kubectl does: `kubeconfig` is one file or a KUBECONFIG-style list (files
 * joined by ":" on Unix), merged in order, the first file's current-context winning. `context`
 * replaces the current context (kubectl --context); a context that is not there is an error.
 */
export async function loadKubeConfig(kubeconfig: string, context?: string): Promise<KubeConfig> {
  // Loaded on demand: the client library is large, and most CLI runs read files.
  const { KubeConfig } = await import('@kubernetes/client-node')
  const files = kubeconfig.split(delimiter).filter((f) => f !== '')
  if (files.length === 0) throw new UpgradeGuardError('UG_ERR_USAGE', '--kubeconfig: no file given', { field: '--kubeconfig' })
  const kubeConfig = new KubeConfig()
  for (const [i, file] of files.entries()) {
    const next = i === 0 ? kubeConfig : new KubeConfig()
    try {
      next.loadFromFile(file)
    } catch (e) {
      throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot load the kubeconfig: ${firstLine(e)}`, { file, cause: e })
    }
    if (next !== kubeConfig) mergeFirstWins(kubeConfig, next)
  }
  if (context !== undefined) {
    if (kubeConfig.getContextObject(context) === null) {
      const known = kubeConfig.getContexts().map((c) => c.name)
      throw new UpgradeGuardError('UG_ERR_USAGE', `--context: no context "${context}" in the kubeconfig (it has: ${known.join(', ') || 'none'})`, { field: '--context', file: kubeconfig })
    }
    kubeConfig.setCurrentContext(context)
  }
  return kubeConfig
}

/**
 * kubectl's merge of a KUBECONFIG list: the first file to set a cluster, user, context or
 * current-context wins; later ones never override. (client-node's mergeConfig throws on a
 * duplicate name instead.)
 */
function mergeFirstWins(into: KubeConfig, from: KubeConfig): void {
  for (const cluster of from.getClusters()) if (into.getCluster(cluster.name) === null) into.addCluster(cluster)
  for (const user of from.getUsers()) if (into.getUser(user.name) === null) into.addUser(user)
  for (const context of from.getContexts()) if (into.getContextObject(context.name) === null) into.addContext(context)
  if (!into.getCurrentContext() && from.getCurrentContext()) into.setCurrentContext(from.getCurrentContext())
}

export async function loadLiveStateOnce(kubeconfig: string, policy: Policy, context?: string): Promise<MemoryView> {
  const kubeConfig = await loadKubeConfig(kubeconfig, context)
  const { listClusterState } = await import('../state/informer-view.js')
  return listClusterState({ kubeConfig, policy, lifecycle: true })
}
