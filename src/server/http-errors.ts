/**
 * @module server/http-errors
 * Every HTTP error is a short JSON `{"error": "..."}`: never a stack trace, never HTML. The API
 * server shows a webhook's error bodies to users, so they must read well and leak nothing.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Endpoint } from '../admission/review.js'

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const

export interface ErrorBody {
  readonly error: string
}

/** The admission endpoint a URL names, if any (query ignored, as the API server appends `?timeout=`). */
export function endpointOf(url: string): Endpoint | undefined {
  const path = url.split('?', 1)[0]?.replace(/\/+$/, '')
  return path === '/validate' ? 'validate' : path === '/mutate' ? 'mutate' : undefined
}

const pathOf = (url: string): string => {
  const path = url.split('?', 1)[0] ?? '/'
  return path.length > 200 ? `${path.slice(0, 200)}...` : path
}

/** A message for a fastify client error (4xx) that says what to do. */
export function clientErrorMessage(error: FastifyError, request: FastifyRequest, bodyLimit: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than ${bodyLimit} bytes (the limit, as the API server's own)`
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const type = request.headers['content-type']
      return `unsupported content type ${type === undefined ? '(none)' : JSON.stringify(type.slice(0, 100))}: send an AdmissionReview as application/json`
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Content-Length does not match the body'
    case 'FST_ERR_CTP_INVALID_TYPE':
      return 'invalid Content-Type header'
    default:
      return error.message.split('\n')[0] ?? 'bad request'
  }
}

/** Answers 405 with `Allow` on every other method of a path. */
export function allowOnly(app: FastifyInstance, url: string, allowed: readonly (typeof HTTP_METHODS)[number][]): void {
  // GET routes get HEAD for free (exposeHeadRoutes).
  const implied = allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed
  const others = HTTP_METHODS.filter((m) => !implied.includes(m))
  app.route({
    method: others,
    url,
    handler: async (request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(405)
        .header('allow', implied.join(', '))
        .send({ error: `method ${request.method} is not allowed on ${url}; use ${allowed.join(' or ')}` } satisfies ErrorBody),
  })
}

export function notFoundBody(request: FastifyRequest): ErrorBody {
  return { error: `no such path: ${pathOf(request.url)} (the webhook serves POST /validate, POST /mutate, GET /healthz, GET /readyz, GET /metrics)` }
}
