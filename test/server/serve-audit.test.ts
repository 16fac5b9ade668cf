/**
 * `upgrade-guard serve` runs the audit: GET /audit on the metrics port answers the same report
 * as `audit -o json`, re-audited after the watched state files change; `--audit-interval 0`
 * turns it off (no /audit route); bad audit flags are usage errors (exit 2).
 */
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JsonAuditReport } from '../../src/cli/formats/audit-json.js'
import { CLI, killChild, requireDist, ROOT, waitFor } from './helpers.js'

let dir: string
beforeAll(() => {
  requireDist()
  dir = mkdtempSync(join(tmpdir(), 'ug-serve-audit-'))
})
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const address = s.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      s.close(() => resolve(port))
    })
  })
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: r.status, body: await r.text() }
  } catch {
    return { status: 0, body: '' }
  }
}

async function serve(args: readonly string[], run: (metricsPort: number) => Promise<void>): Promise<void> {
  const metricsPort = await freePort()
  const child = spawn(process.execPath, [CLI, 'serve', '--self-signed', '--host', '127.0.0.1', '--port', '0', '--metrics-port', String(metricsPort), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  try {
    await waitFor(() => out.includes('"msg":"upgrade-guard webhook listening"') || child.exitCode !== null, 30_000, `serve to listen: ${out}`)
    expect(child.exitCode).toBeNull()
    await run(metricsPort)
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r)).catch(() => undefined)
    killChild(child)
  }
}

describe('serve audits the state it serves', () => {
  it('GET /audit on the metrics port, re-audited when a state file is fixed', { timeout: 60_000 }, async () => {
    const state = join(dir, 'state')
    cpSync(join(ROOT, 'examples/audit/state'), state, { recursive: true })
    await serve(['--state', state, '--policy', 'examples/audit/policy.yaml', '--management-version', 'v1.34.2', '--poll-interval', '100', '--audit-debounce', '0.2'], async (port) => {
      let report: JsonAuditReport | undefined
      await waitFor(async () => {
        const r = await get(port, '/audit')
        if (r.status === 200) report = JSON.parse(r.body) as JsonAuditReport
        return report !== undefined
      }, 20_000, 'GET /audit')
      expect(report?.totals).toMatchObject({ findings: 15, deny: 12 })
      expect(report?.managementVersion).toBe('v1.34.2')
      const surge = join(state, 'surge.yaml')
      writeFileSync(surge, readFileSync(surge, 'utf8').replace('maxSurge: 1', 'maxSurge: 0').replace('maxUnavailable: 0', 'maxUnavailable: 1'))
      await waitFor(async () => {
        const r = await get(port, '/audit')
        return r.status === 200 && (JSON.parse(r.body) as JsonAuditReport).totals.findings === 14
      }, 20_000, 'the fix to be audited')
      const metrics = await get(port, '/metrics')
      expect(metrics.body).toMatch(/^upgrade_guard_audit_findings\{rule="max-surge-zero",kind="MachineDeployment",namespace="audit-demo"\} 0$/m)
    })
  })

  it('--audit-interval 0 turns the audit off: no /audit route', { timeout: 60_000 }, async () => {
    await serve(['--state', 'examples/audit/state', '--audit-interval', '0'], async (port) => {
      expect((await get(port, '/metrics')).status).toBe(200)
      expect((await get(port, '/audit')).status).toBe(404)
    })
  })

  it.each([
    { name: 'bad --audit-interval', args: ['--audit-interval', 'soon'], message: /--audit-interval: "soon" is not a number of seconds/ },
    { name: 'bad --management-version', args: ['--management-version', 'latest'], message: /--management-version: "latest" is not a Kubernetes version/ },
  ])('$name: exit 2, one line', ({ args, message }) => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--self-signed', '--state', 'examples/state', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
    expect(r.status).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(message)
  })
})
