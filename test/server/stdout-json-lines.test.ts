/**
 * `upgrade-guard serve` as a process, stdout only: every line it writes during a whole run —
 * start-up, allowed, denied, warned and mutated requests, bad input of several kinds, a policy
 * reload (good and bad), a state reload, shutdown — is one JSON object, and no line carries a
 * key twice (the logger's `name` and an object's name used to collide: the object's name goes
 * under `object`). Plain text (the curl hint) goes to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { duplicateKeys } from '../helpers/json-keys.js'
import { CLI, DEFAULT_POLICY_PATH, EXAMPLE_REVIEWS, EXAMPLES_STATE, httpsCall, killChild, requireDist, ROOT, waitFor } from './helpers.js'

describe('the duplicate-key scanner', () => {
  it.each([
    { name: 'no duplicates', text: '{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}', expected: [] },
    { name: 'a key twice at the top', text: '{"name":"upgrade-guard","uid":"1","name":"bm-0"}', expected: ['$.name'] },
    { name: 'a key twice below', text: '{"a":{"x":1,"y":"\\"x\\"","x":2}}', expected: ['$.a.x'] },
    { name: 'in a list item', text: '[{"k":true},{"k":null,"k":-1.5e3}]', expected: ['$[1].k'] },
  ])('$name', ({ text, expected }) => expect(duplicateKeys(text)).toEqual(expected))

  it('refuses text that is not JSON', () => expect(() => duplicateKeys('upgrade-guard: listening')).toThrow(SyntaxError))
})

let dir: string
let child: ChildProcess | undefined
let out = ''
let err = ''

beforeAll(() => {
  requireDist()
  dir = mkdtempSync(join(tmpdir(), 'ug-stdout-'))
})
afterAll(() => {
  if (child !== undefined) killChild(child)
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const review = (file: string): string => readFileSync(join(EXAMPLE_REVIEWS, file), 'utf8')

describe('serve: stdout is JSON lines only, no key twice', () => {
  it('a whole run: start, every kind of request, reloads, shutdown', { timeout: 90_000 }, async () => {
    const state = join(dir, 'state')
    cpSync(EXAMPLES_STATE, state, { recursive: true })
    const policy = join(dir, 'policy.yaml')
    copyFileSync(DEFAULT_POLICY_PATH, policy)
    const caFile = join(dir, 'ca.crt')
    child = spawn(process.execPath, [CLI, 'serve', '--self-signed', '--ca-out', caFile, '--state', state, '--policy', policy, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--log-level', 'info', '--poll-interval', '100'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const proc = child
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()))
    proc.stderr?.on('data', (c: Buffer) => (err += c.toString()))
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
    await waitFor(() => out.includes('"msg":"upgrade-guard webhook listening"') || proc.exitCode !== null, 30_000, `the server to listen (stderr: ${err})`)
    const listening = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"upgrade-guard webhook listening"')) ?? '{}') as { port: number }
    const ca = readFileSync(caFile, 'utf8')
    const call = (path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      httpsCall({ port: listening.port, ca, method: body === undefined ? 'GET' : 'POST', path, ...(body !== undefined ? { body } : {}), headers })
    const verdict = (body: string): { allowed: boolean; warnings?: string[]; patch?: string } => (JSON.parse(body) as { response: { allowed: boolean } }).response

    // Allowed with warnings, denied, mutated.
    const one = await call('/validate?timeout=10s', review('kcp-one-minor.json'))
    expect(one.status).toBe(200)
    expect(verdict(one.body)).toMatchObject({ allowed: true, warnings: expect.arrayContaining([expect.stringContaining('[pinned-component-tags]')]) })
    const skip = await call('/validate?timeout=10s', review('kcp-skip-minor.json'))
    expect(verdict(skip.body).allowed).toBe(false)
    expect(verdict((await call('/validate', review('md-maxsurge-1.json'))).body).allowed).toBe(false)
    expect(verdict((await call('/validate', review('catalog-key-without-v.json'))).body).allowed).toBe(false)
    expect(verdict((await call('/mutate', review('kcp-create-default-surge.json'))).body)).toMatchObject({ allowed: true, patch: expect.any(String) })
    // Bad input: not JSON, empty, no uid, a malformed review, wrong content type, unknown path, wrong method.
    expect((await call('/validate', '{"request":')).status).toBe(400)
    expect((await call('/validate', ' ')).status).toBe(400)
    expect((await call('/validate', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}')).status).toBe(400)
    expect(verdict((await call('/validate', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":7}}')).body).allowed).toBe(false)
    expect((await call('/validate', 'x=1', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415)
    expect((await call('/nowhere')).status).toBe(404)
    expect((await call('/validate')).status).toBe(405)
    expect((await call('/readyz')).status).toBe(200)

    // Reloads: a good policy edit, a bad one (kept the last good), a state edit.
    const lines = (): string[] => out.split('\n').filter((l) => l.trim() !== '')
    const reloads = (): number => lines().filter((l) => /reload/i.test(l)).length
    const before = reloads()
    writeFileSync(policy, readFileSync(DEFAULT_POLICY_PATH, 'utf8').replace('pinned-component-tags: warn', 'pinned-component-tags: audit'))
    await waitFor(() => reloads() > before, 20_000, 'the policy reload line')
    const afterGood = reloads()
    writeFileSync(policy, 'apiVersion: upgrade-guard.io/v1alpha1\nkind: Policy\nrules:\n  catalog-key: maybe\n')
    await waitFor(() => reloads() > afterGood, 20_000, 'the rejected policy reload line')
    const afterBad = reloads()
    writeFileSync(join(state, 'workers.yaml'), `${readFileSync(join(state, 'workers.yaml'), 'utf8')}\n`)
    await waitFor(() => reloads() > afterBad, 20_000, 'the state reload line')
    // Still answering after the rejected policy (the last good one is in force).
    expect(verdict((await call('/validate', review('kcp-skip-minor.json'))).body).allowed).toBe(false)

    proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    child = undefined

    const all = out.split('\n')
    expect(all.at(-1)).toBe('') // ends with a newline: no half line
    const problems: string[] = []
    const parsed: Record<string, unknown>[] = []
    for (const [n, line] of all.slice(0, -1).entries()) {
      try {
        const value: unknown = JSON.parse(line)
        if (typeof value !== 'object' || value === null || Array.isArray(value)) problems.push(`line ${n + 1}: not a JSON object: ${line}`)
        else parsed.push(value as Record<string, unknown>)
        for (const key of duplicateKeys(line)) problems.push(`line ${n + 1}: key ${key} twice: ${line}`)
      } catch {
        problems.push(`line ${n + 1}: not JSON: ${line}`)
      }
    }
    expect(problems).toEqual([])
    const decisions = parsed.filter((l) => l.msg === 'admission decision')
    expect(decisions.length).toBeGreaterThanOrEqual(7)
    expect(decisions.find((d) => d.uid === (JSON.parse(review('kcp-skip-minor.json')) as { request: { uid: string } }).request.uid)).toMatchObject({
      name: 'upgrade-guard',
      kind: 'KubeadmControlPlane',
      namespace: 'cpaas-system',
      object: 'bm-workload-control-plane',
      allowed: false,
      denied: ['control-plane-minor-step', 'worker-skew'],
    })
    for (const l of parsed) expect(l).toMatchObject({ name: 'upgrade-guard', level: expect.any(String), time: expect.any(Number), msg: expect.any(String) })
    // The plain lines went to stderr.
    expect(err).toContain('webhook listening on https://127.0.0.1:')
  })
})
