/**
 * The live view against a real cluster. Runs only when KUBECONFIG is set (skipped otherwise);
 * see docs/live-state.md. Optional: UG_LIVE_POLICY=<policy file> when the catalog lives
 * somewhere else than the default policy says.
 */
import { KubeConfig } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { loadPolicy } from '../../src/policy/load.js'
import { listClusterState, startInformerView } from '../../src/state/informer-view.js'

describe.skipIf(!process.env.KUBECONFIG)('live cluster (KUBECONFIG)', () => {
  const kubeConfig = (): KubeConfig => {
    const kc = new KubeConfig()
    kc.loadFromDefault()
    return kc
  }
  const policy = loadPolicy(process.env.UG_LIVE_POLICY)

  it('syncs every cache and stays available', async () => {
    const view = await startInformerView({ kubeConfig: kubeConfig(), policy })
    try {
      const isSynced = await view.waitForSync(30_000)
      expect(isSynced, `caches not synced after 30 s: ${view.readiness().missing.join(', ')} (${view.status().reason ?? ''})`).toBe(true)
      expect(view.status()).toMatchObject({ available: true })
      expect(view.ageSeconds()).toBeLessThan(policy.state.maxStalenessSeconds)
      console.info(`live view: ${JSON.stringify(view.counts())}; catalog ${view.catalog() === undefined ? 'missing' : 'present'}`)

      // A one-shot list (validate --kubeconfig) sees the same cluster.
      const listed = await listClusterState({ kubeConfig: kubeConfig(), policy })
      expect(listed.counts().catalogEntries).toBe(view.counts().catalogEntries)
    } finally {
      await view.stop()
    }
  }, 60_000)
})
