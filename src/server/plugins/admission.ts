/**
 * @module server/plugins/admission
 * `POST /validate` and `POST /mutate`: the body goes, as text, through the same `reviewText()`
 * and `serializeOutcome()` as `upgrade-guard review`, so the HTTP answer is byte for byte what
 * the CLI prints. Only `application/json` is accepted (415 otherwise); a body without a uid is
 * a 400 with a JSON error (there is nothing to answer an AdmissionReview to); everything with a
 * uid is answered 200 with a well-formed AdmissionReview, malformed requests as denials.
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

export interface AdmissionPluginOptions {
  readonly policy: PolicyProvider
  readonly state: StateSource
  readonly metrics: ServerMetrics
  readonly logger: Logger
  readonly bodyLimit: number
}

const ENDPOINTS: readonly Endpoint[] = ['validate', 'mutate']

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

export async function admissionPlugin(app: FastifyInstance, options: AdmissionPluginOptions): Promise<void> {
  const { metrics, logger } = options
  const log = logger.child({ component: 'admission' })
  const decisions = decisionLogger(logger, { component: 'admission' })
  // Live caches only: destructive catalog edits and catalog-key misses get a fresh read first.
  const reader = options.state.readFresh?.bind(options.state)
  const confirmer = reader === undefined ? undefined : new Confirmer({ reader: { readFresh: reader }, logger: log })

  // Only JSON, taken as text: reviewText() parses it, exactly as the CLI does.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body))

  // Synchronous unless a confirmation read is due (live caches only): no promise, no extra
  // microtask turn per request on the common path. fastify sends what the handler sent.
  const handle = (endpoint: Endpoint) => (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined => {
    const started = performance.now()
    const text = typeof request.body === 'string' ? request.body : ''
    const reject = (message: string): undefined => {
      metrics.observeRejected(endpoint, 400)
      log.info({ endpoint, status: 400, bytes: text.length }, `rejected: ${message.slice(0, 200)}`)
      reply.code(400).type('application/json; charset=utf-8').send({ error: message } satisfies ErrorBody)
      return undefined
    }
    const failed = (e: unknown): FastifyReply => {
      log.error({ endpoint, err: e }, 'review failed')
      const answer = internalErrorAnswer(text)
      if (answer === undefined) {
        metrics.observeRejected(endpoint, 500)
        return reply.code(500).type('application/json; charset=utf-8').send({ error: 'internal error (see the webhook logs)' } satisfies ErrorBody)
      }
      return reply.code(200).type('application/json; charset=utf-8').send(answer)
    }
    const answer = (outcome: ResponseOutcome): FastifyReply => {
      let bytes: string
      try {
        bytes = serializeOutcome(outcome)
      } catch (e) {
        return failed(e)
      }
      const seconds = (performance.now() - started) / 1000
      const ids = ruleIds(outcome)
      metrics.observeDecision(endpoint, outcome, seconds, ids)
      logDecision(decisions, { endpoint, outcome, latencyMs: seconds * 1000, ids }, log)
      return reply.code(200).type('application/json; charset=utf-8').send(bytes)
    }
    if (text.trim() === '') return reject('empty body: send an admission.k8s.io/v1 AdmissionReview as application/json')

    const deps = { policy: options.policy.current(), view: options.state.view() }
    let outcome: ReviewOutcome
    try {
      outcome = reviewText(text, endpoint, deps)
    } catch (e) {
      failed(e)
      return undefined
    }
    if (outcome.kind === 'error') return reject(outcome.message)
    if (confirmer === undefined) {
      answer(outcome)
      return undefined
    }
    return confirmer.confirm(outcome, text, endpoint, deps).then((confirmed) => answer(confirmed.outcome), failed)
  }

  for (const endpoint of ENDPOINTS) {
    app.post(`/${endpoint}`, handle(endpoint))
    allowOnly(app, `/${endpoint}`, ['POST'])
  }
}
