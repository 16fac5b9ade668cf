/**
 * @module server/certificates
 * The serving certificate: generated (`--self-signed`: a CA and a serving certificate signed by
 * it, with `selfsigned`, so a webhook configuration can trust the CA; kept in `--cert-dir` and
 * reused at the next start, so a restarted webhook still matches the caBundle registered for
 * it — see `loadOrCreateSelfSigned`) or read from files
 * (`--tls-cert/--tls-key`) and re-read when they change on disk. cert-manager and kubelet
 * rewrite Secret volumes by swapping a symlink, and may write the certificate and the key one
 * after the other: a pair that does not match is not applied, the last good one stays, and the
 * next change is tried again.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, join } from 'node:path'
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

/** Writes a PEM file, creating its folder; through a temporary file and a rename, so a crash never leaves half a file. */
export function writePem(file: string, pem: string, mode = 0o644): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, pem, { mode })
    renameSync(tmp, file)
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_TLS', `cannot write: ${(e as NodeJS.ErrnoException).code ?? errorLine(e)}`, { file, cause: e })
  }
}

/** Where `--self-signed` keeps what it made. */
export const DEFAULT_CERT_DIR = '.run/certs'

/** A certificate this close to its end is treated as expired: it would break while running. */
const RENEW_BEFORE_MS = DAY_MS

export type SelfSignedAction = 'reused' | 'reissued-serving' | 'generated'

export interface SelfSigned {
  readonly material: GeneratedCertificates
  readonly action: SelfSignedAction
  /** Why something was (re)generated, e.g. `no CA in .run/certs`, `serving certificate does not cover 10.0.0.5`. */
  readonly reason?: string
  readonly files: { readonly caCert: string; readonly caKey: string; readonly cert: string; readonly key: string }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UpgradeGuardError('UG_ERR_TLS', `cannot read: ${(e as NodeJS.ErrnoException).code ?? errorLine(e)}`, { file, cause: e })
  }
}

/** Why a stored pair cannot be used (undefined: it can). */
function pairProblem(what: string, certPem: string | undefined, keyPem: string | undefined, now: number, extra: (x: X509Certificate) => string | undefined): string | undefined {
  if (certPem === undefined || keyPem === undefined) return `no ${what}`
  let x: X509Certificate
  try {
    x = new X509Certificate(certPem)
    if (!x.checkPrivateKey(createPrivateKey(keyPem))) return `the ${what} key does not match its certificate`
  } catch (e) {
    return `the ${what} is unreadable (${errorLine(e).slice(0, 80)})`
  }
  if (Date.parse(x.validTo) - RENEW_BEFORE_MS <= now) return `the ${what} expired or expires within a day (${new Date(Date.parse(x.validTo)).toISOString()})`
  if (Date.parse(x.validFrom) > now) return `the ${what} is not valid yet`
  return extra(x)
}

/** The first requested name or address the certificate does not cover. */
function uncovered(x: X509Certificate, sans: readonly string[]): string | undefined {
  return sans.find((san) => (isIP(san) !== 0 ? x.checkIP(san) === undefined : x.checkHost(san) === undefined))
}

/**
 * `--self-signed`: reuses the CA and serving certificate stored in `dir` when they are there,
 * readable, matching their keys, not (about to be) expired and covering `sans`. Otherwise it
 * makes what is missing: a new serving certificate from the stored CA when only the serving
 * certificate is unusable (the caBundle registered for the CA stays valid), or a new CA and
 * serving certificate. Keys are written 0600.
 */
export async function loadOrCreateSelfSigned(dir: string, sans: readonly string[] = DEFAULT_SANS, now: number = Date.now()): Promise<SelfSigned> {
  const files = { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }
  const names = sans.length > 0 ? sans : DEFAULT_SANS
  const caCert = readIfPresent(files.caCert)
  const caKey = readIfPresent(files.caKey)
  const caProblem = pairProblem('CA', caCert, caKey, now, (x) => (x.ca ? undefined : 'the stored CA certificate is not a CA'))
  if (caProblem !== undefined || caCert === undefined || caKey === undefined) {
    const material = await generateCertificates(names)
    writeSelfSigned(files, material, true)
    return { material, action: 'generated', reason: `${caProblem ?? 'no CA'} in ${dir}`, files }
  }
  const caX = new X509Certificate(caCert)
  const cert = readIfPresent(files.cert)
  const key = readIfPresent(files.key)
  const servingProblem = pairProblem('serving certificate', cert, key, now, (x) => {
    if (!x.verify(caX.publicKey)) return 'the serving certificate was not signed by the stored CA'
    const missing = uncovered(x, names)
    return missing === undefined ? undefined : `the serving certificate does not cover ${missing}`
  })
  if (servingProblem !== undefined || cert === undefined || key === undefined) {
    const serving = await issueServingCertificate({ key: caKey, cert: caCert }, names)
    const material = { ...serving, caCert, caKey }
    writeSelfSigned(files, material, false)
    return { material, action: 'reissued-serving', reason: servingProblem ?? 'no serving certificate', files }
  }
  return { material: { key, cert, caCert, caKey }, action: 'reused', files }
}

function writeSelfSigned(files: SelfSigned['files'], material: GeneratedCertificates, withCa: boolean): void {
  if (withCa) {
    writePem(files.caKey, material.caKey, 0o600)
    writePem(files.caCert, material.caCert)
  }
  writePem(files.key, material.key, 0o600)
  writePem(files.cert, material.cert)
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
