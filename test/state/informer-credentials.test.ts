/**
 * A credential plugin that stops working must not end the process: client-node re-authenticates
 * on every re-watch, from a callback nobody awaits (found in review; it used to exit with code 1).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { startInformerView } from '../../src/state/informer-view.js'
import { FakeApiServer } from './fake-apiserver.js'

const dir = mkdtempSync(join(tmpdir(), 'ug-exec-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('credential plugin failures', () => {
  it('a failing token refresh on re-watch fails the cache (relist with backoff), not the process', { timeout: 20_000 }, async () => {
    const outage = join(dir, 'outage')
    const plugin = join(dir, 'cred.sh')
    // Fails like an unreachable identity provider while the outage file exists. Tokens are issued
    // already expired, so every request (and every re-watch) asks the plugin again.
    writeFileSync(
      plugin,
      `#!/bin/sh\nif [ -e ${outage} ]; then echo "identity provider unreachable" >&2; exit 1; fi\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"fake-token-do-not-log","expirationTimestamp":"2000-01-01T00:00:00Z"}}'\n`,
    )
    chmodSync(plugin, 0o755)
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    const fake = await FakeApiServer.start()
    const kubeConfig = new KubeConfig()
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'f', server: fake.url, skipTLSVerify: true }],
      users: [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, args: [], interactiveMode: 'Never' } }],
      contexts: [{ name: 'f', cluster: 'f', user: 'u' }],
      currentContext: 'f',
    })
    const view = await startInformerView({ kubeConfig, policy: DEFAULT_POLICY, backoff: { initialMs: 50, maxMs: 200 } })
    try {
      expect(await view.waitForSync(10_000)).toBe(true)
      writeFileSync(outage, '')
      fake.endWatches() // a normal server-side watch timeout: every cache re-watches
      await new Promise((r) => setTimeout(r, 1500))
      expect(unhandled).toEqual([])
      // Behind: the re-watch could not authenticate, so the view cannot be trusted (fail closed).
      expect(view.status().available).toBe(false)
      expect(view.status().reason).toMatch(/behind since .*; retrying/)
      expect(view.readiness().ready).toBe(true) // synced once; freshness is status()'s business
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await view.stop()
      await fake.close()
    }
  })
})
