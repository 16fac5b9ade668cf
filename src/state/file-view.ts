/**
 * @module state/file-view
 * Builds the cluster-state view from manifest files (`kubectl get … -o yaml` output, folders,
 * lists). The CLI and the webhook's embedded default use it; the webhook re-reads on change.
 */
import { Worker } from 'node:worker_threads'
import { UpgradeGuardError, type ErrorCode } from '../errors.js'
import type { CatalogRef } from '../objects/catalog.js'
import type { FileObjectsMessage, TransferredError } from './file-objects-worker.js'
import { forEachStateObject, listManifestFiles } from './manifests.js'
import { MemoryView } from './memory-view.js'

export interface FileViewResult {
  readonly view: MemoryView
  /** Objects of kinds the view does not track (ignored, reported for --verbose). */
  readonly ignored: number
}

/** A view being filled, object by object, in file order. */
class ViewFill {
  readonly view: MemoryView
  ignored = 0

  constructor(catalog: CatalogRef) {
    this.view = new MemoryView(catalog)
  }

  add(object: unknown): void {
    if (this.view.upsert(object) === undefined) this.ignored++
  }

  finish(): FileViewResult {
    this.view.settle()
    this.view.setStatus({ available: true, updatedAt: Date.now() })
    return { view: this.view, ignored: this.ignored }
  }
}

/**
 * Reads the files and returns a fresh view; throws UpgradeGuardError naming file and document.
 * One object at a time: each becomes a lean record as soon as it is parsed (a `kind: List` file
 * entry by entry), so the peak at start-up is the view plus one object, not a parsed file.
 */
export function loadFileView(paths: readonly string[], catalog: CatalogRef): FileViewResult {
  const files = listManifestFiles(paths)
  const whole = new Set<string>()
  for (;;) {
    const fill = new ViewFill(catalog)
    // A List that could not be read entry by entry after all (rare: an alias across entries, or
    // an error) has already given some objects: start again with a fresh view, that file whole.
    const retry = files.find((file) => !forEachStateObject(file, ({ object }) => fill.add(object), whole.has(file)))
    if (retry === undefined) return fill.finish()
    whole.add(retry)
  }
}

/**
 * loadFileView with the parsing in a worker thread, so that the caller can do other work
 * meanwhile (validate parses the proposed manifests while the state snapshot is read): the same
 * view, or the same error (code, message, file, field). The objects become records in this
 * thread, as each file's batch arrives and this thread is free. Without a worker (one cannot
 * start, or it dies) it is loadFileView.
 */
export function startFileViewLoad(paths: readonly string[], catalog: CatalogRef): Promise<FileViewResult> {
  const inThisThread = (): FileViewResult => loadFileView(paths, catalog)
  let worker: Worker
  try {
    worker = new Worker(new URL('./file-objects-worker.js', import.meta.url), { workerData: { paths: [...paths] } })
  } catch {
    return Promise.resolve().then(inThisThread)
  }
  return new Promise<FileViewResult>((resolve, reject) => {
    let settled = false
    const settle = (how: () => void): void => {
      if (settled) return
      settled = true
      worker.removeAllListeners()
      void worker.terminate()
      how()
    }
    const fill = new ViewFill(catalog)
    worker.on('message', (message: FileObjectsMessage) => {
      try {
        if (message.kind === 'objects') for (const object of message.objects) fill.add(object)
        else if (message.kind === 'done') settle(() => resolve(fill.finish()))
        else settle(() => reject(rebuilt(message.error)))
      } catch (e) {
        settle(() => reject(e))
      }
    })
    // The worker could not run (its module missing, no resources): read here instead.
    const fallBack = (): void =>
      settle(() => {
        try {
          resolve(inThisThread())
        } catch (e) {
          reject(e)
        }
      })
    worker.once('error', fallBack)
    worker.once('exit', fallBack)
  })
}

function rebuilt(error: TransferredError): Error {
  const e =
    error.code === undefined
      ? new Error(error.message)
      : new UpgradeGuardError(error.code as ErrorCode, error.message, { ...(error.file === undefined ? {} : { file: error.file }), ...(error.field === undefined ? {} : { field: error.field }) })
  if (error.stack !== undefined) e.stack = error.stack
  return e
}
