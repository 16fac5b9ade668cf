/**
 * @module server/watch
 * Notices when files or folders change on disk: fs.watch for a fast nudge, and a stat poll as
 * the ground truth. The poll is what makes it reliable where fs.watch is not: Kubernetes
 * ConfigMap and Secret volumes swap a `..data` symlink, editors replace files by rename, inotify
 * watches run out. A change is "the set of (path, size, mtime, inode) differs"; the listener is
 * called once per change, never concurrently, and never for the state it was started with.
 */
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs'
import { dirname, join } from 'node:path'

export interface WatchOptions {
  /** Poll period in milliseconds (default 1000). */
  readonly intervalMs?: number
  /** Wait this long after an fs.watch event before looking, so writes can finish (default 100). */
  readonly settleMs?: number
}

export interface Watch {
  /** Looks now (tests, SIGHUP); resolves after the listener ran if something changed. */
  check(): Promise<void>
  close(): void
}

const MAX_ENTRIES = 10_000

function describe(path: string, out: string[], depth = 0): void {
  if (out.length > MAX_ENTRIES) return
  let st
  try {
    st = statSync(path)
  } catch (e) {
    out.push(`${path}:${(e as NodeJS.ErrnoException).code ?? 'error'}`)
    return
  }
  if (st.isDirectory()) {
    out.push(`${path}/:${st.ino}`)
    if (depth > 8) return
    let names: string[]
    try {
      names = readdirSync(path).sort()
    } catch (e) {
      out.push(`${path}/*:${(e as NodeJS.ErrnoException).code ?? 'error'}`)
      return
    }
    for (const name of names) describe(join(path, name), out, depth + 1)
    return
  }
  out.push(`${path}:${st.size}:${st.mtimeMs}:${st.ino}`)
}

/** What the paths look like now; equal strings mean nothing changed. */
export function fingerprint(paths: readonly string[]): string {
  const out: string[] = []
  for (const p of paths) describe(p, out)
  return out.join('\n')
}

export function watchPaths(paths: readonly string[], onChange: () => void | Promise<void>, options: WatchOptions = {}): Watch {
  const intervalMs = options.intervalMs ?? 1000
  const settleMs = options.settleMs ?? 100
  let last = fingerprint(paths)
  let running: Promise<void> | undefined
  let again = false
  let closed = false
  let settle: NodeJS.Timeout | undefined

  const runOnce = async (): Promise<void> => {
    const now = fingerprint(paths)
    if (now === last || closed) return
    last = now
    await onChange()
  }
  const check = (): Promise<void> => {
    if (running !== undefined) {
      again = true
      return running
    }
    running = (async () => {
      try {
        do {
          again = false
          await runOnce()
        } while (again && !closed)
      } finally {
        running = undefined
      }
    })()
    return running
  }
  const nudge = (): void => {
    if (closed) return
    if (settle !== undefined) clearTimeout(settle)
    settle = setTimeout(() => void check().catch(() => undefined), settleMs)
    settle.unref()
  }

  const watchers: FSWatcher[] = []
  // Watch each path and its parent folder: a rename or symlink swap replaces the entry itself.
  for (const target of new Set(paths.flatMap((p) => [p, dirname(p)]))) {
    try {
      const w = watch(target, { persistent: false, recursive: false }, nudge)
      w.on('error', () => w.close())
      watchers.push(w)
    } catch {
      // Missing path or no inotify watches left: the poll still sees every change.
    }
  }
  const timer = setInterval(() => void check().catch(() => undefined), intervalMs)
  timer.unref()

  return {
    check,
    close: () => {
      closed = true
      clearInterval(timer)
      if (settle !== undefined) clearTimeout(settle)
      for (const w of watchers) w.close()
    },
  }
}
