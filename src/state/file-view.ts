/**
 * @module state/file-view
 * Builds the cluster-state view from manifest files (`kubectl get … -o yaml` output, folders,
 * lists). The CLI and the webhook's embedded default use it; the webhook re-reads on change.
 */
import type { CatalogRef } from '../objects/catalog.js'
import { listManifestFiles, readStateFile } from './manifests.js'
import { MemoryView } from './memory-view.js'

export interface FileViewResult {
  readonly view: MemoryView
  /** Objects of kinds the view does not track (ignored, reported for --verbose). */
  readonly ignored: number
}

/**
 * Reads the files and returns a fresh view; throws UpgradeGuardError naming file and document.
 * One file at a time: its parsed objects become lean records and are dropped before the next
 * file is read, so the peak at start-up is the largest file, not the whole snapshot.
 */
export function loadFileView(paths: readonly string[], catalog: CatalogRef): FileViewResult {
  const files = listManifestFiles(paths)
  const view = new MemoryView(catalog)
  let ignored = 0
  for (const file of files) for (const entry of readStateFile(file)) if (view.upsert(entry.object) === undefined) ignored++
  view.settle()
  view.setStatus({ available: true, updatedAt: Date.now() })
  return { view, ignored }
}
