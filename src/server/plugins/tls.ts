/**
 * @module server/plugins/tls
 * Keeps the HTTPS server's certificate current: each new pair from the TlsSource becomes the
 * server's secure context (`setSecureContext`). New handshakes get the new certificate;
 * connections already open keep theirs, so nothing in flight is dropped.
 */
import type { Server as HttpsServer } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import type { Logger } from '../../log.js'
import type { TlsMaterial, TlsSource } from '../certificates.js'

export interface TlsPluginOptions {
  readonly tls: TlsSource
  /** Options every secure context carries besides key and cert (minVersion, ...). */
  readonly secureOptions: SecureContextOptions
  readonly logger: Logger
}

export async function tlsPlugin(app: FastifyInstance, options: TlsPluginOptions): Promise<void> {
  const log = options.logger.child({ component: 'tls' })
  const server = app.server as unknown as HttpsServer
  let closed = false
  app.addHook('onClose', async () => {
    closed = true
  })
  options.tls.onChange((material: TlsMaterial) => {
    if (closed) return
    try {
      server.setSecureContext({ ...options.secureOptions, key: material.key, cert: material.cert })
      log.info({ serial: options.tls.info().serialNumber }, 'new TLS handshakes use the reloaded certificate')
    } catch (e) {
      log.error({ err: e }, 'could not apply the reloaded certificate; keeping the current one')
    }
  })
}
