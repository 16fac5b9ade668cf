/**
 * @module state/file-objects-worker
 * The parsing half of loadFileView, in a worker thread (state/file-view startFileViewLoad): the
 * objects of each state file in order, one message per file, then `done`; or the first error,
 * as loadFileView would throw it. The thread that receives them turns them into the view.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { isUpgradeGuardError } from '../errors.js'
import { forEachStateObject, listManifestFiles } from './manifests.js'
import { dropUnstoredFields } from './memory-view.js'

export type FileObjectsMessage =
  | { readonly kind: 'objects'; readonly objects: readonly unknown[] }
  | { readonly kind: 'done' }
  | { readonly kind: 'error'; readonly error: TransferredError }

/** An error thrown while reading, as plain data (an UpgradeGuardError's code, file and field kept). */
export interface TransferredError {
  readonly message: string
  readonly stack?: string
  readonly code?: string
  readonly file?: string
  readonly field?: string
}

function transferred(e: unknown): TransferredError {
  if (isUpgradeGuardError(e)) return { message: e.message, ...(e.stack === undefined ? {} : { stack: e.stack }), code: e.code, ...(e.file === undefined ? {} : { file: e.file }), ...(e.field === undefined ? {} : { field: e.field }) }
  return e instanceof Error ? { message: e.message, ...(e.stack === undefined ? {} : { stack: e.stack }) } : { message: String(e) }
}

const port = parentPort
if (port !== null) {
  const { paths } = workerData as { readonly paths: readonly string[] }
  const post = (message: FileObjectsMessage): void => port.postMessage(message)
  try {
    for (const file of listManifestFiles(paths)) {
      let objects: unknown[] = []
      // Nothing the records leave out is copied over (the last-applied annotation is half an object).
      const keep = ({ object }: { readonly object: unknown }): void => {
        dropUnstoredFields(object)
        objects.push(object)
      }
      // A List that gave up half-way is read again whole; only a file's final objects are sent.
      if (!forEachStateObject(file, keep)) {
        objects = []
        forEachStateObject(file, keep, true)
      }
      post({ kind: 'objects', objects })
    }
    post({ kind: 'done' })
  } catch (e) {
    post({ kind: 'error', error: transferred(e) })
  }
}
