/**
 * @module state/file-view
 * Builds the cluster-state view from manifest files (`kubectl get … -o yaml` output, folders,
 * lists). The CLI and the webhook's embedded default use it; the webhook re-reads on change.
 */
import type { CatalogRef } from '../objects/catalog.js'
import { forEachStateObject, listManifestFiles } from './manifests.js'
import { MemoryView, type RecordMode } from './memory-view.js'

export interface FileViewResult {
  readonly view: MemoryView
  /** Objects of kinds the view does not track (ignored, reported for --verbose). */
  readonly ignored: number
}

/** A view being filled, object by object, in file order. */
class ViewFill {
  readonly view: MemoryView
  ignored = 0

  constructor(catalog: CatalogRef, records: RecordMode) {
    this.view = new MemoryView(catalog, undefined, records)
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
 * One object at a time: each becomes a record (lean unless `records` says plain) as soon as it is parsed (a `kind: List` file
 * entry by entry), so the peak at start-up is the view plus one object, not a parsed file.
 */
export function loadFileView(paths: readonly string[], catalog: CatalogRef, records: RecordMode = 'lean'): FileViewResult {
  const files = listManifestFiles(paths)
  const whole = new Set<string>()
  for (;;) {
    const fill = new ViewFill(catalog, records)
    // A List that could not be read entry by entry after all (rare: an alias across entries, or
    // an error) has already given some objects: start again with a fresh view, that file whole.
    const retry = files.find((file) => !forEachStateObject(file, ({ object }) => fill.add(object), whole.has(file)))
    if (retry === undefined) return fill.finish()
    whole.add(retry)
  }
}
