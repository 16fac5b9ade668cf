/**
 * `upgrade-guard serve` as a process: the README's main job starts and prints a curl line that
 * works as printed; usage and start-up errors are one line on stderr, exit 2.
 */
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, killChild, requireDist, ROOT, waitFor } from './helpers.js'

let dir: string
beforeAll(() => {
  requireDist()
  dir = mkdtempSync(join(tmpdir(), 'ug-serve-'))
})
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const hasCurl = spawnSync('curl', ['--version']).status === 0

describe('the main job', () => {
  it('starts on the embedded default and prints a curl line that works as printed', { timeout: 60_000 }, async () => {
    const caOut = relative(ROOT, join(dir, 'run', 'ca.crt'))
    const child = spawn(process.execPath, [CLI, 'serve', '--self-signed', '--ca-out', caOut, '--state', 'examples/state', '--policy', 'policies/default.yaml', '--port', '0', '--metrics-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    try {
      await waitFor(() => /^curl .*\/validate$/m.test(err) || child.exitCode !== null, 30_000, 'the curl line')
      const curl = err.split('\n').find((l) => l.startsWith('curl '))
      expect(curl).toMatch(new RegExp(`^curl --cacert ${caOut.replaceAll('.', '\\.')} -H 'Content-Type: application/json' --data @examples/reviews/kcp-skip-minor\\.json https://127\\.0\\.0\\.1:\\d+/validate$`))
      // Logs are JSON lines on stdout, flushed before the plain lines go to stderr.
      expect(out).toContain('"msg":"upgrade-guard webhook listening"')
      expect(out).not.toContain('curl ')
      if (!hasCurl) return
      const answer = await new Promise<string>((resolve, reject) =>
        execFile('sh', ['-c', `${curl ?? ''} --silent --show-error`], { cwd: ROOT, timeout: 20_000 }, (e, stdout, stderr) => (e === null ? resolve(stdout) : reject(new Error(`${e.message}: ${stderr}`)))),
      )
      const parsed = JSON.parse(answer) as { response: { allowed: boolean; status: { message: string } } }
      expect(parsed.response.allowed).toBe(false)
      expect(parsed.response.status.message).toMatch(/^\[control-plane-minor-step\] spec\.version: Forbidden: cannot go from v1\.32\.8 to v1\.34\.5-3/)
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r)).catch(() => undefined)
      killChild(child)
    }
  })
})

describe('usage and start-up errors: one line, exit 2', () => {
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const badPolicy = () => {
    const p = join(dir, 'bad-policy.yaml')
    writeFileSync(p, 'apiVersion: upgrade-guard.io/v1alpha1\nkind: Policy\nrules:\n  catalog-key: maybe\n')
    return p
  }

  it.each([
    { name: 'no certificate flags', args: ['--state', 'examples/state'], message: /give a serving certificate: --tls-cert FILE --tls-key FILE, or --self-signed/ },
    { name: 'no state', args: ['--self-signed'], message: /give the cluster state: --state PATH/ },
    { name: '--state and --kubeconfig', args: ['--self-signed', '--state', 'examples/state', '--kubeconfig', '/nonexistent'], message: /alternatives: give one/ },
    { name: '--tls-cert without --tls-key', args: ['--state', 'examples/state', '--tls-cert', 'x.crt'], message: /--tls-cert and --tls-key go together/ },
    { name: '--tls-cert and --self-signed', args: ['--state', 'examples/state', '--tls-cert', 'x.crt', '--tls-key', 'x.key', '--self-signed'], message: /alternatives/ },
    { name: 'unreadable certificate', args: ['--state', 'examples/state', '--tls-cert', '/nonexistent/tls.crt', '--tls-key', '/nonexistent/tls.key'], message: /\/nonexistent\/tls\.crt: cannot read: ENOENT/ },
    { name: 'bad port', args: ['--self-signed', '--state', 'examples/state', '--port', '99999'], message: /--port: "99999" is not a whole number from 0 to 65535/ },
    { name: 'bad policy', args: ['--self-signed', '--state', 'examples/state', '--policy', '<bad>'], message: /bad-policy\.yaml: rules\.catalog-key: must be one of/ },
    { name: 'missing state folder', args: ['--self-signed', '--state', '/nonexistent/state'], message: /\/nonexistent\/state/ },
    { name: 'unreadable kubeconfig', args: ['--self-signed', '--kubeconfig', '/nonexistent/kubeconfig'], message: /\/nonexistent\/kubeconfig: cannot read the kubeconfig/ },
  ])('$name', ({ args, message }) => {
    const r = run(args.map((a) => (a === '<bad>' ? badPolicy() : a)))
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^upgrade-guard: /)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('port already in use', { timeout: 30_000 }, async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
        execFile(process.execPath, [CLI, 'serve', '--self-signed', '--state', 'examples/state', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', '0'], { cwd: ROOT, timeout: 30_000 }, (e, _stdout, stderr) =>
          resolve({ code: e === null ? 0 : ((e as { code?: number }).code ?? null), stderr }),
        ),
      )
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`^upgrade-guard: cannot listen on 127\\.0\\.0\\.1:${port} \\(webhook\\): EADDRINUSE`))
    } finally {
      blocker.close()
    }
  })
})
