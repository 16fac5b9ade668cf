/**
 * The Deployment's own command line against the real server, on loopback. The sources are
 * compiled to node_modules/.cache, and `node dist/cli/main.js` runs with the Deployment's args.
 * Only what needs a cluster is replaced: --in-cluster becomes --state examples/state, and the
 * mounted files (/tls, /etc/upgrade-guard) become the self-signed overlay's files and
 * manifests/base/policy.yaml. The checks then go where the kubelet and the API server would go:
 * the probe paths, the webhook paths with the caBundle as the only trust, the metrics port.
 * SIGTERM must end the process in time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../bench/processes.js'
import { parse } from 'yaml'
import { BASE, flagValue, one, opensslAvailable, renderSelfSignedCopy, rendered, ROOT } from './deploy-helpers.js'
import type { Obj } from './kustomize.js'

const OUT = join(ROOT, 'node_modules', '.cache', `ug-deploy-dist-${process.pid}`)
const serveImplemented = existsSync(join(ROOT, 'src', 'server', 'run.ts'))

interface Reply {
  readonly status: number
  readonly body: string
}


function https(port: number, ca: Buffer, servername: string, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, method, path, ca, servername, headers: body === undefined ? {} : { 'content-type': 'application/json' }, timeout: 5000 },
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => done({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', fail)
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.end(body)
  })
}

function http(port: number, path: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => done({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', fail)
    req.end()
  })
}

describe.skipIf(!serveImplemented || !opensslAvailable())('the Deployment command runs the real server', () => {
  const { dir: certs, rendered: selfSigned } = renderSelfSignedCopy()
  const deployment = one(rendered(BASE).objects, 'Deployment', 'upgrade-guard')
  const container = deployment.spec.template.spec.containers[0] as Obj
  const service = one(rendered(BASE).objects, 'Service', 'upgrade-guard')
  const dnsName = `${String(service.metadata.name)}.${String(service.metadata.namespace)}.svc`
  const validating = one(selfSigned.objects, 'ValidatingWebhookConfiguration')
  const mutating = one(selfSigned.objects, 'MutatingWebhookConfiguration')
  const capiValidate = (validating.webhooks as Obj[]).find((w) => String(w.name).startsWith('capi.')) as Obj
  const capiMutate = (mutating.webhooks as Obj[])[0] as Obj
  const caBundle = Buffer.from(String(capiValidate.clientConfig.caBundle), 'base64')

  let child: ChildProcess | undefined
  let stdout = ''
  let stderr = ''
  let port = 0
  let metricsPort = 0
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined

  beforeAll(async () => {
    rmSync(OUT, { recursive: true, force: true })
    mkdirSync(OUT, { recursive: true })
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', OUT, '--sourceMap', 'false'], {
        stdio: 'pipe',
        timeout: 120_000,
      })
    } catch (e) {
      // Type errors elsewhere still emit JavaScript; only a missing entry point is fatal.
      if (!existsSync(join(OUT, 'cli', 'main.js'))) throw e
    }
    port = await freePort()
    metricsPort = await freePort()

    const mounts = new Map<string, string>([
      ['/tls/tls.crt', join(certs, 'tls.crt')],
      ['/tls/tls.key', join(certs, 'tls.key')],
      ['/etc/upgrade-guard/policy.yaml', join(ROOT, 'manifests', 'base', 'policy.yaml')],
    ])
    const args = (container.args as string[]).flatMap((a, i): string[] => {
      if (i === 0) return [join(OUT, 'cli', 'main.js')] // /app/dist/cli/main.js
      if (a === '--in-cluster') return ['--state', join(ROOT, 'examples', 'state')]
      return [mounts.get(a) ?? a]
    })
    const set = (flag: string, value: string): void => {
      const at = args.indexOf(flag)
      if (at >= 0) args[at + 1] = value
      else args.push(flag, value)
    }
    set('--port', String(port))
    set('--metrics-port', String(metricsPort))
    set('--host', '127.0.0.1')

    child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    exit = new Promise((done) => child?.on('exit', (code, signal) => done({ code, signal })))

    const deadline = Date.now() + 20_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${stderr}`)
      try {
        const ready = await https(port, caBundle, dnsName, 'GET', '/readyz')
        if (ready.status === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server not ready in 20 s\nstdout: ${stdout}\nstderr: ${stderr}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 180_000)

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL')
    rmSync(OUT, { recursive: true, force: true })
  })

  it('readiness: GET /readyz on the https port answers 200 (TLS trusted through the caBundle)', async () => {
    const probe = container.readinessProbe.httpGet as Obj
    expect((await https(port, caBundle, dnsName, 'GET', String(probe.path))).status).toBe(200)
  })

  it('liveness: GET /healthz answers 200', async () => {
    const probe = container.livenessProbe.httpGet as Obj
    expect((await https(port, caBundle, dnsName, 'GET', String(probe.path))).status).toBe(200)
  })

  it('the validating webhook path denies an unsafe change and echoes the uid', async () => {
    const review = kcpReview('3d1e5b7a-0000-4000-8000-000000000001', { maxSurge: 1 })
    const reply = await https(port, caBundle, dnsName, 'POST', `${String(capiValidate.clientConfig.service.path)}?timeout=${String(capiValidate.timeoutSeconds)}s`, review)
    expect(reply.status).toBe(200)
    const body = JSON.parse(reply.body) as Obj
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '3d1e5b7a-0000-4000-8000-000000000001', allowed: false } })
    expect(String(body.response.status.message)).toContain('[max-surge-zero]')
  })

  it('the mutating webhook path answers an AdmissionReview', async () => {
    const review = kcpReview('3d1e5b7a-0000-4000-8000-000000000002', { maxSurge: 0 })
    const reply = await https(port, caBundle, dnsName, 'POST', `${String(capiMutate.clientConfig.service.path)}?timeout=${String(capiMutate.timeoutSeconds)}s`, review)
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toMatchObject({ kind: 'AdmissionReview', response: { uid: '3d1e5b7a-0000-4000-8000-000000000002', allowed: true } })
  })

  it('the metrics port serves GET /metrics over plain HTTP', async () => {
    const port9090 = (container.ports as Obj[]).find((p) => p.name === 'metrics')
    expect(flagValue(container.args as string[], '--metrics-port')).toBe(String(port9090?.containerPort))
    const reply = await http(metricsPort, '/metrics')
    expect(reply.status).toBe(200)
    expect(reply.body).toMatch(/^# (HELP|TYPE) /m)
  })

  it('SIGTERM ends the process cleanly within the grace period', async () => {
    const grace = Number(deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30)
    const started = Date.now()
    child?.kill('SIGTERM')
    const result = await exit
    expect(result).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(grace * 1000)
  }, 60_000)

  function kcpReview(uid: string, rollingUpdate: Obj): string {
    const old = parse(readFileSync(join(ROOT, 'examples', 'state', 'control-plane.yaml'), 'utf8')) as Obj
    const object = structuredClone(old)
    object.spec.rolloutStrategy = { type: 'RollingUpdate', rollingUpdate }
    const [group, version] = String(old.apiVersion).split('/')
    return JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group, version, kind: 'KubeadmControlPlane' },
        resource: { group, version, resource: 'kubeadmcontrolplanes' },
        requestKind: { group, version, kind: 'KubeadmControlPlane' },
        requestResource: { group, version, resource: 'kubeadmcontrolplanes' },
        name: old.metadata.name,
        namespace: old.metadata.namespace,
        operation: 'UPDATE',
        userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
        object,
        oldObject: old,
        dryRun: false,
        options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' },
      },
    })
  }
})
