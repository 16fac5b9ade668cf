/**
 * @module bench/load
 * One load phase with autocannon: keep-alive connections over TLS, POST /validate, rotating
 * through the given bodies (each connection cycles through the list). autocannon always connects
 * with `rejectUnauthorized: false` (it overrides tlsOptions), so the certificate is verified
 * separately, once per server, by `postReview` with the CA before any load runs.
 *
 * autocannon's own latency histogram has 1 ms resolution; latencies are also taken from its
 * per-response events (float milliseconds from process.hrtime) for sub-millisecond p50/p99.
 */
import autocannon from 'autocannon'
import { percentile } from './stats.js'

export interface LoadOptions {
  readonly port: number
  readonly bodies: readonly string[]
  readonly seconds: number
  readonly connections: number
  readonly path?: string
}

export interface LoadResult {
  readonly requestsPerSecond: number
  readonly requests: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly seconds: number
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const path = o.path ?? '/validate?timeout=10s'
  const headers = { 'content-type': 'application/json', accept: 'application/json, */*', 'user-agent': 'kube-apiserver-admission' }
  const latencies: number[] = []
  const instance = autocannon({
    url: `https://127.0.0.1:${o.port}`,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    timeout: 10,
    requests: o.bodies.map((body) => ({ method: 'POST', path, headers, body })),
  })
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
  })
  const result = await instance
  const sorted = Float64Array.from(latencies).sort()
  return {
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    seconds: result.duration,
  }
}
