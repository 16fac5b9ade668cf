/**
 * @module server/plugins/admission
 * `POST /validate` and `POST /mutate`: the body goes, as text, through the same `reviewText()`
 * and `serializeOutcome()` as `upgrade-guard review`, so the HTTP answer is byte for byte what
 * the CLI prints. Only `application/json` is accepted (415 otherwise); a body without a uid is
 * a 400 with a JSON error (there is nothing to answer an AdmissionReview to); everything with a
 * uid is answered 200 with a well-formed AdmissionReview, malformed requests as denials.
 *
 * {@link createAnswerer} turns a body into its answer, with the decision's metrics and log line;
 * the fastify routes here and the direct path of server/direct-admission both send what it
 * returns, so the two cannot answer differently.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { reviewText, serializeOutcome, type Endpoint, type ReviewOutcome } from '../../admission/review.js'
import { decisionLogger, type Logger } from '../../log.js'
import { isRecord } from '../../objects/unstructured.js'
import { Confirmer } from '../confirm.js'
import { allowOnly, type ErrorBody } from '../http-errors.js'
import { logDecision } from '../log.js'
import { ruleIds, type ServerMetrics } from '../metrics.js'
import type { PolicyProvider } from '../policy-source.js'
import type { StateSource } from '../state-source.js'

export const ENDPOINTS: readonly Endpoint[] = ['validate', 'mutate']

/** The content type of every answer. */
export const ANSWER_TYPE = 'application/json; charset=utf-8'

/** What to send: the status and the body (JSON text), always as {@link ANSWER_TYPE}. */
export interface AdmissionAnswer {
  readonly code: number
  readonly body: string
}

/**
 * The answer to one body, `started` being when it was received (performance.now()). Synchronous
 * unless a confirmation read is due (live caches only): no promise, no extra microtask turn per
 * request on the common path. Never throws, and the promise never rejects.
 */
export type Answerer = (endpoint: Endpoint, text: string, started: number) => AdmissionAnswer | Promise<AdmissionAnswer>

export interface AnswererOptions {
  readonly policy: PolicyProvider
  readonly state: StateSource
  readonly metrics: ServerMetrics
  readonly logger: Logger
}

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

/** When review() itself fails (a bug): deny, fail closed, say where to look; the details go to the log. */
function internalErrorAnswer(text: string): string | undefined {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  const request = isRecord(body) ? body.request : undefined
  const uid = isRecord(request) ? request.uid : undefined
  if (typeof uid !== 'string' || uid === '') return undefined
  const apiVersion = isRecord(body) && body.apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : 'admission.k8s.io/v1'
  const status = { metadata: {}, status: 'Failure', message: 'upgrade-guard could not judge this request (internal error, see the webhook logs); denied to fail closed', reason: 'InternalError', code: 500 }
  return `${JSON.stringify({ apiVersion, kind: 'AdmissionReview', response: { uid, allowed: false, status } })}\n`
}

/** A JSON error body, as fastify serializes `{ error }` (JSON.stringify). */
export const errorAnswer = (code: number, message: string): AdmissionAnswer => ({ code, body: JSON.stringify({ error: message } satisfies ErrorBody) })

export function createAnswerer(options: AnswererOptions): Answerer {
  const { metrics, logger } = options
  const log = logger.child({ component: 'admission' })
  const decisions = decisionLogger(logger, { component: 'admission' })
  // Live caches only: destructive catalog edits and catalog-key misses get a fresh read first.
  const reader = options.state.readFresh?.bind(options.state)
  const confirmer = reader === undefined ? undefined : new Confirmer({ reader: { readFresh: reader }, logger: log })

  // Made once, not per request: the common path allocates no closure.
  const reject = (endpoint: Endpoint, text: string, message: string): AdmissionAnswer => {
    metrics.observeRejected(endpoint, 400)
    log.info({ endpoint, status: 400, bytes: text.length }, `rejected: ${message.slice(0, 200)}`)
    return errorAnswer(400, message)
  }
  const failed = (endpoint: Endpoint, text: string, e: unknown): AdmissionAnswer => {
    log.error({ endpoint, err: e }, 'review failed')
    const answer = internalErrorAnswer(text)
    if (answer !== undefined) return { code: 200, body: answer }
    metrics.observeRejected(endpoint, 500)
    return errorAnswer(500, 'internal error (see the webhook logs)')
  }
  const answer = (endpoint: Endpoint, text: string, started: number, outcome: ResponseOutcome): AdmissionAnswer => {
    let bytes: string
    try {
      bytes = serializeOutcome(outcome)
    } catch (e) {
      return failed(endpoint, text, e)
    }
    const seconds = (performance.now() - started) / 1000
    const ids = ruleIds(outcome)
    metrics.observeDecision(endpoint, outcome, seconds, ids)
    logDecision(decisions, { endpoint, outcome, latencyMs: seconds * 1000, ids }, log)
    return { code: 200, body: bytes }
  }

  return (endpoint, text, started) => {
    if (text.trim() === '') return reject(endpoint, text, 'empty body: send an admission.k8s.io/v1 AdmissionReview as application/json')
    const deps = { policy: options.policy.current(), view: options.state.view() }
    let outcome: ReviewOutcome
    try {
      outcome = reviewText(text, endpoint, deps)
    } catch (e) {
      return failed(endpoint, text, e)
    }
    if (outcome.kind === 'error') return reject(endpoint, text, outcome.message)
    if (confirmer === undefined) return answer(endpoint, text, started, outcome)
    return confirmer.confirm(outcome, text, endpoint, deps).then(
      (confirmed) => answer(endpoint, text, started, confirmed.outcome),
      (e: unknown) => failed(endpoint, text, e),
    )
  }
}

export interface AdmissionPluginOptions {
  readonly answerer: Answerer
  readonly bodyLimit: number
}

export async function admissionPlugin(app: FastifyInstance, options: AdmissionPluginOptions): Promise<void> {
  const { answerer } = options
  // Only JSON, taken as text: reviewText() parses it, exactly as the CLI does.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body))

  const send = (reply: FastifyReply, answer: AdmissionAnswer): FastifyReply => reply.code(answer.code).type(ANSWER_TYPE).send(answer.body)
  // fastify sends what the handler sent; a promise only when the answerer returns one.
  const handle = (endpoint: Endpoint) => (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const started = performance.now()
    const answer = answerer(endpoint, typeof request.body === 'string' ? request.body : '', started)
    if (answer instanceof Promise) return answer.then((a) => send(reply, a))
    send(reply, answer)
    return undefined
  }

  for (const endpoint of ENDPOINTS) {
    app.post(`/${endpoint}`, handle(endpoint))
    allowOnly(app, `/${endpoint}`, ['POST'])
  }
}
