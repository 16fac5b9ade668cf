/**
 * Certificate rotation: the server runs from --tls-cert/--tls-key files; the files are replaced
 * (same CA with a new key and serial, written non-atomically as cert-manager's Secret update can
 * look; then a certificate from a second CA, swapped in by rename); the next TLS handshake
 * presents the new certificate, and a loop of requests across the swaps has no failures.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.js'
import { generateCa, issueServingCertificate, startFileTls, type TlsMaterial, type TlsSource } from '../../src/server/certificates.js'
import { httpsCall, readReview, REFERENCE_STATE, startTestServer, waitFor, type TestServer } from './helpers.js'

const SANS = ['localhost', '127.0.0.1']
const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber

let dir: string
let certFile: string
let keyFile: string
let tls: TlsSource
let server: TestServer
let ca1: { key: string; cert: string }
let ca2: { key: string; cert: string }
let first: TlsMaterial
let trusted: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ug-tls-'))
  certFile = join(dir, 'tls.crt')
  keyFile = join(dir, 'tls.key')
  ;[ca1, ca2] = await Promise.all([generateCa(30, 'test CA one'), generateCa(30, 'test CA two')])
  first = await issueServingCertificate(ca1, SANS)
  writeFileSync(certFile, first.cert)
  writeFileSync(keyFile, first.key)
  tls = startFileTls({ certFile, keyFile, logger: silentLogger(), intervalMs: 100 })
  // The client trusts exactly the two generated CAs, nothing else.
  trusted = `${ca1.cert}\n${ca2.cert}`
  server = await startTestServer({ statePath: REFERENCE_STATE, tls, certs: { ...first, caCert: trusted, caKey: '' } })
})

afterAll(async () => {
  await server?.close()
  tls?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/** A fresh connection (a new handshake) each time. */
const handshake = () => httpsCall({ port: server.port, ca: trusted, method: 'GET', path: '/healthz', agent: false })

const review = readReview('v1beta1', '022').text

/** Requests until stopped: fresh handshakes and keep-alive ones; records every failure. */
function loadLoop(): { stop: () => Promise<{ ok: number; failures: string[]; serials: Set<string> }> } {
  let running = true
  const failures: string[] = []
  const serials = new Set<string>()
  let ok = 0
  const keepAlive = new Agent({ ca: trusted, keepAlive: true, maxSockets: 2 })
  const worker = async (fresh: boolean): Promise<void> => {
    while (running) {
      try {
        const r = await httpsCall({ port: server.port, ca: trusted, method: 'POST', path: '/validate?timeout=10s', body: review, headers: { 'content-type': 'application/json' }, agent: fresh ? false : keepAlive })
        if (r.status !== 200 || !r.body.includes('"allowed":false')) failures.push(`HTTP ${r.status}`)
        else ok++
        if (r.peerCertificate?.serialNumber !== undefined) serials.add(r.peerCertificate.serialNumber)
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e))
      }
    }
  }
  const workers = [worker(true), worker(true), worker(false), worker(false)]
  return {
    stop: async () => {
      running = false
      await Promise.all(workers)
      keepAlive.destroy()
      return { ok, failures, serials }
    },
  }
}

describe('certificate rotation from files', () => {
  it('serves the first certificate', async () => {
    const r = await handshake()
    expect(r.status).toBe(200)
    expect(r.peerCertificate?.serialNumber).toBe(serialOf(first.cert))
  })

  it('same CA, new key and serial, files written one after the other: next handshakes get it, no request fails', async () => {
    const loop = loadLoop()
    await new Promise((r) => setTimeout(r, 300))
    const second = await issueServingCertificate(ca1, SANS)
    // Non-atomic: for a moment the certificate and the key do not match; that pair must not be applied.
    writeFileSync(certFile, second.cert)
    await new Promise((r) => setTimeout(r, 250))
    writeFileSync(keyFile, second.key)
    await waitFor(async () => (await handshake()).peerCertificate?.serialNumber === serialOf(second.cert), 10_000, 'the new certificate')
    await new Promise((r) => setTimeout(r, 300))
    const result = await loop.stop()
    expect(result.failures).toEqual([])
    expect(result.ok).toBeGreaterThan(10)
    expect(result.serials).toContain(serialOf(first.cert))
    expect(result.serials).toContain(serialOf(second.cert))
    expect(tls.info().serialNumber).toBe(serialOf(second.cert))
  })

  it('a certificate from a second CA, swapped in by rename: next handshakes get it, no request fails', async () => {
    const loop = loadLoop()
    await new Promise((r) => setTimeout(r, 300))
    const third = await issueServingCertificate(ca2, SANS)
    writeFileSync(join(dir, 'tls.crt.new'), third.cert)
    writeFileSync(join(dir, 'tls.key.new'), third.key)
    renameSync(join(dir, 'tls.key.new'), keyFile)
    renameSync(join(dir, 'tls.crt.new'), certFile)
    await waitFor(async () => (await handshake()).peerCertificate?.serialNumber === serialOf(third.cert), 10_000, 'the certificate of the second CA')
    await new Promise((r) => setTimeout(r, 300))
    const result = await loop.stop()
    expect(result.failures).toEqual([])
    expect(result.serials).toContain(serialOf(third.cert))
    expect((await handshake()).peerCertificate?.issuer.CN).toBe('test CA two')
  })

  it('a broken file is rejected and the current certificate kept', async () => {
    const before = tls.info().serialNumber
    writeFileSync(certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n')
    await waitFor(() => tls.lastError() !== undefined, 10_000, 'the rejected reload')
    expect(tls.lastError()).toMatch(/not a PEM certificate/)
    const r = await handshake()
    expect(r.status).toBe(200)
    expect(r.peerCertificate?.serialNumber).toBe(before)
    const readyz = JSON.parse((await handshake().then(() => httpsCall({ port: server.port, ca: trusted, method: 'GET', path: '/readyz', agent: false }))).body) as { ready: boolean }
    expect(readyz.ready).toBe(true)
  })
})
