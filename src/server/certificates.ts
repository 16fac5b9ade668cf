/**
 * @module server/certificates
 * The serving certificate: generated (`--self-signed`: a CA and a serving certificate signed by
 * it, with `selfsigned`, so a webhook configuration can trust the CA) or read from files
 * (`--tls-cert/--tls-key`) and re-read when they change on disk. cert-manager and kubelet
 * rewrite Secret volumes by swapping a symlink, and may write the certificate and the key one
 * after the other: a pair that does not match is not applied, the last good one stays, and the
 * next change is tried again.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname } from 'node:path'
import { createSecureContext } from 'node:tls'
import { UpgradeGuardError } from '../errors.js'
import type { Logger } from '../log.js'
import { errorLine, type ReloadListener } from './policy-source.js'
import { watchPaths, type Watch } from './watch.js'

export interface TlsMaterial {
  /** PEM private key. */
  readonly key: string
  /** PEM certificate chain, leaf first. */
  readonly cert: string
}

export interface CertificateInfo {
  readonly subject: string
  readonly issuer: string
  readonly serialNumber: string
  readonly fingerprint256: string
  readonly subjectAltName: string | undefined
  /** Epoch milliseconds. */
  readonly validFrom: number
  readonly validTo: number
}

export interface TlsSource {
  readonly description: string
  /** The pair in force (always a matching, parseable pair). */
  current(): TlsMaterial
  info(): CertificateInfo
  /** Why the last reload was rejected while the last good pair is kept. */
  lastError(): string | undefined
  /** Called with each new pair that passed the checks. */
  onChange(listener: (material: TlsMaterial) => void): void
  close(): void
}

export const DEFAULT_SANS: readonly string[] = ['localhost', '127.0.0.1', '::1']

/** Parses the leaf certificate; throws UG_ERR_TLS when it is not one. */
export function certificateInfo(certPem: string, file = '<certificate>'): CertificateInfo {
  let x: X509Certificate
  try {
    x = new X509Certificate(certPem)
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_TLS', `not a PEM certificate: ${errorLine(e)}`, { file, cause: e })
  }
  return {
    subject: x.subject,
    issuer: x.issuer,
    serialNumber: x.serialNumber,
    fingerprint256: x.fingerprint256,
    subjectAltName: x.subjectAltName,
    validFrom: Date.parse(x.validFrom),
    validTo: Date.parse(x.validTo),
  }
}

/** Throws UG_ERR_TLS unless key and certificate parse and belong together. */
export function checkPair(material: TlsMaterial, files: { cert: string; key: string } = { cert: '<certificate>', key: '<key>' }): CertificateInfo {
  const info = certificateInfo(material.cert, files.cert)
  try {
    createPrivateKey(material.key)
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_TLS', `not a PEM private key: ${errorLine(e)}`, { file: files.key, cause: e })
  }
  try {
    createSecureContext({ key: material.key, cert: material.cert })
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_TLS', `the key does not match the certificate ${files.cert}: ${errorLine(e)}`, { file: files.key, cause: e })
  }
  return info
}

export interface GeneratedCertificates extends TlsMaterial {
  /** PEM CA certificate that signed `cert` (what a webhook configuration's caBundle needs). */
  readonly caCert: string
  readonly caKey: string
}

const DAY_MS = 24 * 60 * 60 * 1000

function validity(validDays: number): { notBeforeDate: Date; notAfterDate: Date } {
  const notBeforeDate = new Date(Date.now() - 60_000)
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + validDays * DAY_MS) }
}

/**
 * `selfsigned` and the ~200 modules under it are loaded only when a certificate is generated:
 * a server given --tls-cert never needs them (about 10 MiB of RSS and start-up time).
 */
const loadSelfsigned = (): Promise<typeof import('selfsigned')> => import('selfsigned')

/** A new CA (EC P-256, SHA-256). */
export async function generateCa(validDays = 365, commonName = 'upgrade-guard self-signed CA'): Promise<{ readonly key: string; readonly cert: string }> {
  const { generate } = await loadSelfsigned()
  const ca = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(validDays),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  return { key: ca.private, cert: ca.cert }
}

/** A serving certificate for DNS names and IP addresses, signed by `ca` (a fresh key and serial each time). */
export async function issueServingCertificate(ca: { readonly key: string; readonly cert: string }, sans: readonly string[] = DEFAULT_SANS, validDays = 365): Promise<TlsMaterial> {
  const names = sans.length > 0 ? sans : DEFAULT_SANS
  const { generate } = await loadSelfsigned()
  const serving = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(validDays),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) !== 0 ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
    ],
  })
  return { key: serving.private, cert: serving.cert }
}

/** A fresh CA and a serving certificate signed by it (what `--self-signed` runs with). */
export async function generateCertificates(sans: readonly string[] = DEFAULT_SANS, validDays = 365): Promise<GeneratedCertificates> {
  const ca = await generateCa(validDays)
  const serving = await issueServingCertificate(ca, sans, validDays)
  return { ...serving, caCert: ca.cert, caKey: ca.key }
}

/** Writes a PEM file, creating its folder. */
export function writePem(file: string, pem: string, mode = 0o644): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, pem, { mode })
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_TLS', `cannot write: ${(e as NodeJS.ErrnoException).code ?? errorLine(e)}`, { file, cause: e })
  }
}

/** A pair that never changes (generated at start). */
export function staticTls(material: TlsMaterial, description = 'self-signed'): TlsSource {
  const info = checkPair(material)
  return {
    description,
    current: () => material,
    info: () => info,
    lastError: () => undefined,
    onChange: () => undefined,
    close: () => undefined,
  }
}

export interface FileTlsOptions {
  readonly certFile: string
  readonly keyFile: string
  readonly logger: Logger
  readonly intervalMs?: number
  readonly onReload?: ReloadListener
}

function readPair(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch (e) {
      throw new UpgradeGuardError('UG_ERR_TLS', `cannot read: ${(e as NodeJS.ErrnoException).code ?? errorLine(e)}`, { file, cause: e })
    }
  }
  return { cert: read(certFile), key: read(keyFile) }
}

/** Reads the pair (throws UG_ERR_TLS when it is unusable) and watches both files. */
export function startFileTls(options: FileTlsOptions): TlsSource {
  const { certFile, keyFile } = options
  const files = { cert: certFile, key: keyFile }
  const log = options.logger.child({ source: 'certificate', cert: certFile, key: keyFile })
  let material = readPair(certFile, keyFile)
  let info = checkPair(material, files)
  let lastError: string | undefined
  const listeners: Array<(m: TlsMaterial) => void> = []
  log.info({ serial: info.serialNumber, expires: new Date(info.validTo).toISOString() }, 'serving certificate loaded')

  const reload = (): void => {
    let next: TlsMaterial
    let nextInfo: CertificateInfo
    try {
      next = readPair(certFile, keyFile)
      nextInfo = checkPair(next, files)
    } catch (e) {
      lastError = errorLine(e)
      options.onReload?.(false)
      log.warn(`certificate reload rejected, keeping the current one: ${lastError}`)
      return
    }
    lastError = undefined
    options.onReload?.(true)
    if (next.cert === material.cert && next.key === material.key) return
    material = next
    info = nextInfo
    for (const listener of listeners) listener(next)
    log.info({ serial: info.serialNumber, expires: new Date(info.validTo).toISOString() }, 'serving certificate reloaded')
  }
  const watch: Watch = watchPaths([certFile, keyFile], reload, options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs })
  return {
    description: `files ${certFile}, ${keyFile}`,
    current: () => material,
    info: () => info,
    lastError: () => lastError,
    onChange: (listener) => void listeners.push(listener),
    close: () => watch.close(),
  }
}
