/**
 * @module server/plugins/metrics
 * `GET /metrics`: Prometheus text format from the server's own registry. Registered on the HTTPS
 * server and on the plain-HTTP metrics server (`--metrics-port`).
 */
import type { FastifyInstance } from 'fastify'
import { allowOnly } from '../http-errors.js'
import type { ServerMetrics } from '../metrics.js'

export interface MetricsPluginOptions {
  readonly metrics: ServerMetrics
}

export async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  const { registry } = options.metrics
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics()
    return reply.code(200).type(registry.contentType).send(text)
  })
  allowOnly(app, '/metrics', ['GET'])
}
