/**
 * @module server/compact-heap
 * One full, memory-reducing garbage collection when start-up is done (the state loaded, the
 * schemas compiled), before the server takes requests. Loading a state snapshot leaves tens of
 * MiB of garbage behind (file texts, parsed entries, the record builder's tables); V8 would
 * give those pages back to the system only after some seconds of idling (its memory reducer),
 * so without this the webhook would start, and be measured, at a much larger RSS than it needs.
 * Done once, before listening: no request waits for it.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** V8's gc() extension; `last-resort` is the collection it makes before giving up on memory: everything, compacted. */
type GcFunction = (options?: { readonly type: 'major'; readonly execution: 'sync'; readonly flavor: 'last-resort' }) => void

function gcFunction(): GcFunction {
  const exposed = (globalThis as { gc?: GcFunction }).gc
  if (typeof exposed === 'function') return exposed // node --expose-gc
  // The extension is installed in contexts created while the flag is set (as jest's leak detector does).
  setFlagsFromString('--expose-gc')
  try {
    return runInNewContext('gc') as GcFunction
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

export function compactHeap(): void {
  gcFunction()({ type: 'major', execution: 'sync', flavor: 'last-resort' })
}
