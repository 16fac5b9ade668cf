/**
 * `--self-signed` keeps its CA and serving certificate in a folder and reuses them: a restarted
 * webhook must still match the caBundle registered for it. It regenerates only what is missing,
 * unusable, (about to be) expired or not covering the requested names, and says which.
 */
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateCa, issueServingCertificate, loadOrCreateSelfSigned } from '../../src/server/certificates.js'

const DAY = 24 * 60 * 60 * 1000
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ug-certdir-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const read = (f: string): string => readFileSync(join(dir, f), 'utf8')

describe('loadOrCreateSelfSigned', () => {
  it('generates into an empty folder (keys 0600), then reuses exactly what it wrote', async () => {
    const first = await loadOrCreateSelfSigned(dir, ['localhost', '127.0.0.1'])
    expect(first).toMatchObject({ action: 'generated' })
    expect(first.reason).toContain('no CA')
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600)
    const second = await loadOrCreateSelfSigned(dir, ['localhost', '127.0.0.1'])
    expect(second.action).toBe('reused')
    expect(second.material).toEqual(first.material)
  })

  it('a subset of the names it covers is reused; a name it lacks reissues the serving certificate from the same CA', async () => {
    const first = await loadOrCreateSelfSigned(dir, ['localhost', '127.0.0.1', '::1'])
    expect((await loadOrCreateSelfSigned(dir, ['::1'])).action).toBe('reused')
    const next = await loadOrCreateSelfSigned(dir, ['localhost', 'upgrade-guard.upgrade-guard.svc'])
    expect(next.action).toBe('reissued-serving')
    expect(next.reason).toBe('the serving certificate does not cover upgrade-guard.upgrade-guard.svc')
    expect(next.material.caCert).toBe(first.material.caCert)
    const leaf = new X509Certificate(read('tls.crt'))
    expect(leaf.checkHost('upgrade-guard.upgrade-guard.svc')).toBeDefined()
    expect(leaf.verify(new X509Certificate(first.material.caCert).publicKey)).toBe(true)
  })

  it('a serving certificate that expires (within a day) is reissued; the CA is kept', async () => {
    const ca = await generateCa()
    writeFileSync(join(dir, 'ca.crt'), ca.cert)
    writeFileSync(join(dir, 'ca.key'), ca.key)
    const short = await issueServingCertificate(ca, ['localhost'], 1)
    writeFileSync(join(dir, 'tls.crt'), short.cert)
    writeFileSync(join(dir, 'tls.key'), short.key)
    const r = await loadOrCreateSelfSigned(dir, ['localhost'])
    expect(r.action).toBe('reissued-serving')
    expect(r.reason).toMatch(/^the serving certificate expired or expires within a day/)
    expect(r.material.caCert).toBe(ca.cert)
  })

  it('an expired CA regenerates everything', async () => {
    await loadOrCreateSelfSigned(dir, ['localhost'])
    const r = await loadOrCreateSelfSigned(dir, ['localhost'], Date.now() + 400 * DAY)
    expect(r.action).toBe('generated')
    expect(r.reason).toMatch(/^the CA expired/)
  })

  it.each([
    { name: 'a CA key that does not match', damage: async () => writeFileSync(join(dir, 'ca.key'), (await generateCa()).key), reason: /^the CA key does not match its certificate/ },
    { name: 'a CA that is not PEM', damage: async () => writeFileSync(join(dir, 'ca.crt'), 'garbage'), reason: /^the CA is unreadable/ },
    { name: 'a serving certificate from another CA', damage: async () => {
      const other = await issueServingCertificate(await generateCa(), ['localhost'])
      writeFileSync(join(dir, 'tls.crt'), other.cert)
      writeFileSync(join(dir, 'tls.key'), other.key)
    }, reason: /^the serving certificate was not signed by the stored CA/ },
  ])('$name is replaced, and the log reason says why', async ({ damage, reason }) => {
    await loadOrCreateSelfSigned(dir, ['localhost'])
    await damage()
    const r = await loadOrCreateSelfSigned(dir, ['localhost'])
    expect(r.action).not.toBe('reused')
    expect(r.reason).toMatch(reason)
    expect((await loadOrCreateSelfSigned(dir, ['localhost'])).action).toBe('reused')
  })
})
