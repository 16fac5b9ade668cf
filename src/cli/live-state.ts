/**
 * @module cli/live-state
 * `validate --kubeconfig`: read the live state once (list only, no watch) for CI jobs that can
 * reach a cluster.
 */
import { UpgradeGuardError } from '../errors.js'
import type { Policy } from '../policy/types.js'
import type { MemoryView } from '../state/memory-view.js'

export async function loadLiveStateOnce(kubeconfig: string, policy: Policy): Promise<MemoryView> {
  // Loaded on demand: the client library is large, and most CLI runs read files.
  const { KubeConfig } = await import('@kubernetes/client-node')
  const { listClusterState } = await import('../state/informer-view.js')
  const kubeConfig = new KubeConfig()
  try {
    kubeConfig.loadFromFile(kubeconfig)
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot load the kubeconfig: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { file: kubeconfig, cause: e })
  }
  return listClusterState({ kubeConfig, policy, lifecycle: true })
}
