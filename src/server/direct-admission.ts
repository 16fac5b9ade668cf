/**
 * @module server/direct-admission
 * The API server's own admission calls, answered straight from Node's `request` event: a POST
 * to `/validate` or `/mutate` (any query: it appends `?timeout=10s`), `Content-Type:
 * application/json` with a `Content-Length` within the body limit. That is every call a real
 * kube-apiserver makes (reference/admission-reviews/README.md). Routing, hooks and the request
 * and reply objects cost fastify about a tenth of the CPU of a decision (issue 12's profile);
 * the body here goes to the same {@link Answerer} as the fastify route, and the answer leaves
 * with the same status, headers and bytes.
 *
 * Everything else (other methods and paths, another or no content type, chunked or oversized
 * bodies, a trailing slash) is handed to fastify untouched, which answers as it always did.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Endpoint } from '../admission/review.js'
import type { Logger } from '../log.js'
import type { ServerMetrics } from './metrics.js'
import { ANSWER_TYPE, errorAnswer, type AdmissionAnswer, type Answerer } from './plugins/admission.js'

export interface DirectAdmissionOptions {
  readonly answerer: Answerer
  readonly bodyLimit: number
  /** Read at send time: while draining, answers carry `Connection: close` (as build-server's onSend hook). */
  readonly lifecycle: { readonly draining: boolean }
  readonly metrics: ServerMetrics
  readonly logger: Logger
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/** Content types taken directly (lower-cased); fastify's parser takes these and more. */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8'])

/** The endpoint when this request is one the direct path takes whole, else undefined. */
export function directEndpoint(req: IncomingMessage, bodyLimit: number): Endpoint | undefined {
  if (req.method !== 'POST') return undefined
  const url = req.url ?? ''
  const endpoint = isPath(url, '/validate') ? 'validate' : isPath(url, '/mutate') ? 'mutate' : undefined
  if (endpoint === undefined) return undefined
  const headers = req.headers
  const type = headers['content-type']
  if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return undefined
  // Node's parser has checked the framing: a Content-Length it accepts is the body's length.
  const length = headers['content-length']
  if (length === undefined || headers['transfer-encoding'] !== undefined || !(Number(length) <= bodyLimit)) return undefined
  return endpoint
}

/** `url` is `path`, alone or with a query. */
const isPath = (url: string, path: string): boolean => url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f /* ? */)

/**
 * Puts the direct path in front of fastify's request handler on `server` (the one fastify made,
 * `app.server`): the listener fastify registered is removed and called for every request the
 * direct path does not take.
 */
export function installDirectAdmission(server: HttpServer | HttpsServer, options: DirectAdmissionOptions): void {
  const listeners = server.listeners('request') as RequestListener[]
  const routed = listeners[0]
  if (routed === undefined || listeners.length !== 1) throw new Error(`expected fastify's one request listener, found ${listeners.length}`)
  const log = options.logger.child({ component: 'http' })
  const send = (res: ServerResponse, answer: AdmissionAnswer, close: boolean): void => {
    // The headers fastify sends for the same answer, in its order.
    const length = String(Buffer.byteLength(answer.body))
    res.writeHead(answer.code, close || options.lifecycle.draining ? { 'content-type': ANSWER_TYPE, connection: 'close', 'content-length': length } : { 'content-type': ANSWER_TYPE, 'content-length': length })
    res.end(answer.body)
  }
  const receive = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const started = performance.now()
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8')
      const answer = options.answerer(endpoint, text, started)
      if (answer instanceof Promise) void answer.then((a) => send(res, a, false))
      else send(res, answer, false)
    })
    // As fastify's body reader: a broken body (the client went away) is a 400, and the
    // connection is closed (the client may still be sending).
    req.on('error', (e: Error) => {
      options.metrics.observeRejected(endpoint, 400)
      const message = e.message.split('\n')[0] ?? 'bad request'
      log.info({ status: 400, path: `/${endpoint}` }, `rejected: ${message}`)
      if (!res.headersSent) send(res, errorAnswer(400, message), true)
    })
  }
  server.removeListener('request', routed)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const endpoint = directEndpoint(req, options.bodyLimit)
    if (endpoint === undefined) routed(req, res)
    else receive(endpoint, req, res)
  })
}
