/**
 * @module bench/baseline-server
 * The benchmark's baseline: the least a webhook can do. A bare node:https server that reads the
 * body, parses the AdmissionReview and answers `allowed: true` with the request's uid. The real
 * webhook is measured against it (same machine, same TLS certificate, same load, same bodies).
 *
 * Usage: node dist-bench/bench/baseline-server.js --cert FILE --key FILE [--port N]
 * Prints one JSON line `{"listening":{"port":N}}` on stdout once it accepts connections.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export interface BaselineOptions {
  readonly cert: string | Buffer
  readonly key: string | Buffer
  readonly port?: number
  readonly host?: string
}

function uidOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const request = (body as { request?: unknown }).request
  if (typeof request !== 'object' || request === null) return undefined
  const uid = (request as { uid?: unknown }).uid
  return typeof uid === 'string' && uid !== '' ? uid : undefined
}

/** Starts the baseline server; resolves once it listens. */
export function startBaseline(o: BaselineOptions): Promise<Server> {
  const server = createServer({ cert: o.cert, key: o.key, keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        body = undefined
      }
      const uid = uidOf(body)
      if (uid === undefined) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('not an AdmissionReview\n')
        return
      }
      const apiVersion = (body as { apiVersion?: unknown }).apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : 'admission.k8s.io/v1'
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true } })}\n`)
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve(server))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } } })
  if (values.cert === undefined || values.key === undefined) {
    process.stderr.write('usage: node dist-bench/bench/baseline-server.js --cert FILE --key FILE [--port N]\n')
    process.exit(2)
  }
  const server = await startBaseline({ cert: readFileSync(values.cert), key: readFileSync(values.key), port: Number(values.port) })
  process.stdout.write(`${JSON.stringify({ listening: { port: (server.address() as AddressInfo).port } })}\n`)
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
