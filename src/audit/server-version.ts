/**
 * @module audit/server-version
 * The management cluster's own version, for the skew check: `GET /version` of the API server
 * upgrade-guard talks to (its `gitVersion`). One bounded call; loaded on demand like the other
 * client code. Issue 13's ClusterView.managementVersion() supersedes this for the server once
 * merged; the CLI's `audit --kubeconfig` can keep using it.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import { UpgradeGuardError } from '../errors.js'
import { describeError } from '../state/informer-view.js'

const TIMEOUT_MS = 10_000

export async function fetchServerVersion(kubeConfig: KubeConfig): Promise<string> {
  const { VersionApi } = await import('@kubernetes/client-node')
  const api = kubeConfig.makeApiClient(VersionApi)
  let timer: NodeJS.Timeout | undefined
  try {
    const info = await Promise.race([
      api.getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)
      }),
    ])
    if (typeof info.gitVersion !== 'string' || info.gitVersion === '') throw new Error('the answer carries no gitVersion')
    return info.gitVersion
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read the management cluster's version (GET /version): ${describeError(e)}`, { cause: e })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

/** A KubeConfig from a file, or the pod's service account when `file` is undefined. */
export async function loadKubeConfig(file: string | undefined): Promise<KubeConfig> {
  const { KubeConfig: Config } = await import('@kubernetes/client-node')
  const kubeConfig = new Config()
  try {
    if (file === undefined) kubeConfig.loadFromCluster()
    else kubeConfig.loadFromFile(file)
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot load the kubeconfig: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { ...(file === undefined ? {} : { file }), cause: e })
  }
  return kubeConfig
}
