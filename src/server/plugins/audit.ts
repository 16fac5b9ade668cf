/**
 * @module server/plugins/audit
 * `GET /audit`: the last completed audit of existing objects, as the same JSON document as
 * `upgrade-guard audit -o json` (cli/formats/audit-report-schema.json). 503 with a JSON error
 * before the first audit has completed (caches not synced yet). Registered wherever GET
 * /metrics is: the plain-HTTP metrics server, and the HTTPS port.
 */
import type { FastifyInstance } from 'fastify'
import type { AuditRunner } from '../audit-runner.js'
import { allowOnly, type ErrorBody } from '../http-errors.js'

export interface AuditPluginOptions {
  readonly audit: AuditRunner
}

export async function auditPlugin(app: FastifyInstance, options: AuditPluginOptions): Promise<void> {
  app.get('/audit', async (_request, reply) => {
    const json = options.audit.latestJson()
    if (json === undefined) {
      return reply.code(503).type('application/json; charset=utf-8').send({ error: 'no audit has completed yet (the cluster-state view is not synced, or the first run is under way); retry shortly' } satisfies ErrorBody)
    }
    // Built once per audit, in slices (server/audit-runner): serving it costs no serialization.
    return reply.code(200).type('application/json; charset=utf-8').send(json)
  })
  allowOnly(app, '/audit', ['GET'])
}
