/**
 * The self-signed overlay end to end, on loopback: gen-certs.sh makes a CA and a serving
 * certificate, kustomize puts them into the Secret and the caBundle, and a TLS client that
 * trusts exactly that caBundle (as the API server does) accepts the pod's certificate for the
 * Service's DNS name. Also across a rotation.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { all, one, opensslAvailable, renderSelfSignedCopy, SELF_SIGNED, tempDir } from './deploy-helpers.js'
import { render, type Obj } from './kustomize.js'

const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.close()
})

async function serve(cert: Buffer, key: Buffer): Promise<number> {
  const server = createServer({ cert, key }, (_req, res) => res.end('ok'))
  servers.push(server)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return (server.address() as AddressInfo).port
}

/** A TLS handshake as the API server makes it: trust only `ca`, check the name `servername`. */
function handshake(port: number, ca: Buffer, servername: string): Promise<'trusted' | string> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: true, timeout: 5000 }, () => {
      socket.end()
      done('trusted')
    })
    socket.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message))
    socket.on('timeout', () => {
      socket.destroy()
      done('timeout')
    })
  })
}

const caBundles = (objects: Obj[]): Buffer[] =>
  [...all(objects, 'ValidatingWebhookConfiguration'), ...all(objects, 'MutatingWebhookConfiguration')].flatMap((config) =>
    (config.webhooks as Obj[]).map((w) => Buffer.from(String(w.clientConfig.caBundle ?? ''), 'base64')),
  )

describe.skipIf(!opensslAvailable())('overlays/self-signed with gen-certs.sh', () => {
  const { dir, rendered } = renderSelfSignedCopy()
  const objects = rendered.objects
  const service = one(objects, 'Service', 'upgrade-guard')
  const dnsName = `${String(service.metadata.name)}.${String(service.metadata.namespace)}.svc`

  it('builds the Secret the Deployment mounts from the generated files', () => {
    const secret = one(objects, 'Secret', 'upgrade-guard-tls')
    expect(secret.metadata.namespace).toBe('upgrade-guard')
    expect(secret.type).toBe('kubernetes.io/tls')
    for (const key of ['tls.crt', 'tls.key', 'ca.crt']) {
      expect(Buffer.from(String(secret.data[key]), 'base64').equals(readFileSync(join(dir, key))), key).toBe(true)
    }
    const volumes = one(objects, 'Deployment').spec.template.spec.volumes as Obj[]
    expect(volumes.map((v) => v.secret?.secretName)).toContain(secret.metadata.name)
  })

  it('gives every webhook of both configurations the generated CA as caBundle', () => {
    const bundles = caBundles(objects)
    expect(bundles.length).toBe(3)
    for (const bundle of bundles) expect(bundle.equals(readFileSync(join(dir, 'ca.crt')))).toBe(true)
  })

  it('the API server would trust the pod: TLS to the serving certificate with only caBundle as trust', async () => {
    const port = await serve(readFileSync(join(dir, 'tls.crt')), readFileSync(join(dir, 'tls.key')))
    for (const bundle of caBundles(objects)) expect(await handshake(port, bundle, dnsName)).toBe('trusted')
  })

  it('and would not for another name, or with another CA (control)', async () => {
    const port = await serve(readFileSync(join(dir, 'tls.crt')), readFileSync(join(dir, 'tls.key')))
    const bundle = caBundles(objects)[0] as Buffer
    expect(await handshake(port, bundle, 'upgrade-guard.default.svc')).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    const other = tempDir('ug-other-ca-')
    execFileSync('sh', [join(dir, 'gen-certs.sh'), '--out', other], { stdio: 'pipe' })
    expect(await handshake(port, readFileSync(join(other, 'ca.crt')), dnsName)).not.toBe('trusted')
  })

  it('after a rotation the new caBundle trusts both the old and the new serving certificate', async () => {
    const old = { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) }
    const rotated = tempDir('ug-rotate-')
    copyFileSync(join(dir, 'ca.crt'), join(rotated, 'ca.crt'))
    execFileSync('sh', [join(dir, 'gen-certs.sh'), '--out', rotated], { stdio: 'pipe' })
    const bundle = readFileSync(join(rotated, 'ca.crt'))
    expect(bundle.toString().match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
    const oldPort = await serve(old.cert, old.key)
    const newPort = await serve(readFileSync(join(rotated, 'tls.crt')), readFileSync(join(rotated, 'tls.key')))
    expect(await handshake(oldPort, bundle, dnsName)).toBe('trusted')
    expect(await handshake(newPort, bundle, dnsName)).toBe('trusted')
  })

  it('keeps the private key private and the CA key nowhere', () => {
    const mode = spawnSync('stat', ['-c', '%a', join(dir, 'tls.key')], { encoding: 'utf8' }).stdout.trim()
    expect(mode).toBe('600')
    expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter((f) => /ca\.key|\.csr|\.srl/.test(f))).toEqual([])
  })

  it('rejects unknown arguments', () => {
    const result = spawnSync('sh', [join(SELF_SIGNED, 'gen-certs.sh'), '--bogus'], { encoding: 'utf8' })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('unknown argument')
  })

  it('does not render before gen-certs.sh has run (the files are not in git)', () => {
    const gitignore = readFileSync(join(SELF_SIGNED, '.gitignore'), 'utf8').split('\n')
    expect(gitignore).toEqual(expect.arrayContaining(['tls.crt', 'tls.key', 'ca.crt']))
    const empty = tempDir('ug-nocerts-')
    execFileSync('cp', ['-r', join(SELF_SIGNED, '..', '..'), join(empty, 'manifests')])
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) spawnSync('rm', ['-f', join(empty, 'manifests', 'overlays', 'self-signed', f)])
    expect(() => render(join(empty, 'manifests', 'overlays', 'self-signed'))).toThrow()
  })
})
