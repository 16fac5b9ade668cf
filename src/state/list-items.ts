/**
 * @module state/list-items
 * Where the items of a `kind: List` YAML file begin and end, so that a state snapshot of
 * thousands of objects (`kubectl get -A -o yaml` prints one List per kind) can be parsed one item
 * at a time instead of as one tree of the whole file.
 *
 * Only text whose reading is certain is cut; anything else gets `undefined` and is parsed whole:
 * - one document (no `---`, `...` or `%` directive line), LF or CRLF line ends;
 * - apart from the items, only lines kubectl prints: comments, and single-line `key: value`
 *   pairs of plain or quoted scalars with `apiVersion`, `kind` and `metadata` as the top-level
 *   keys — no anchors, tags, flow collections, block scalars or multi-line scalars there;
 * - `items:` alone on its line at column 0, followed by a block sequence whose entries all
 *   begin at one indentation (indented or not), every other line of it blank, a comment, or
 *   indented deeper than the entries.
 * An entry's YAML can only end where the next entry (or the top-level key after the sequence)
 * begins, so its text read alone is the same node — unless something spans two entries (a
 * quoted or flow scalar left open, an alias to an anchor of another entry): then the entry read
 * alone fails to parse, and the caller reads the file whole. The caller also checks that the
 * skeleton (the file with `items: []` in place of the entries) parses to a List.
 */

export interface ListLayout {
  /** The file with its entries replaced by `items: []`: the List's own fields, for checking. */
  readonly skeleton: string
  /** Start offset of each entry, then the end of the last one: entry i is [starts[i], starts[i + 1]). */
  readonly bounds: readonly number[]
}

const SPACE = 0x20
const TAB = 0x09
const CR = 0x0d
const LF = 0x0a
const HASH = 0x23
const DASH = 0x2d

/** A line outside the items: `key:` or `key: value` (a plain word, quoted on one line, `{}` or `[]`), a comment, or blank. */
const SIMPLE_LINE = /^(?: *#.*| *|( *)([A-Za-z_][A-Za-z0-9_.\/-]*):(?: +(?:"[^"\\]*"|'[^']*'|[A-Za-z0-9_.\/][A-Za-z0-9_.\/:-]*|\{\}|\[\]))? *)\r?$/
const TOP_LEVEL_KEYS = new Set(['apiVersion', 'kind', 'metadata'])

/** Lines outside the items: every one simple, the top-level keys known ones (duplicates fail the skeleton's parse). */
function isSimple(lines: string): boolean {
  let start = 0
  while (start <= lines.length) {
    const nl = lines.indexOf('\n', start)
    const end = nl === -1 ? lines.length : nl
    const m = SIMPLE_LINE.exec(lines.slice(start, end))
    if (m === null) return false
    if (m[1] === '' && m[2] !== undefined && !TOP_LEVEL_KEYS.has(m[2])) return false
    start = end + 1
  }
  return true
}

/** Every CR is part of a CRLF (js-yaml also breaks lines at a lone CR; those are not cut). */
function hasOnlyCrlf(text: string): boolean {
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 2)) if (text.charCodeAt(i + 1) !== LF) return false
  return true
}

/** The layout of a one-document `kind: List` file, or undefined when the cut would not be certain. */
export function listLayout(text: string): ListLayout | undefined {
  const itemsLine = /^items: *\r?\n/m.exec(text)
  if (itemsLine === null) return undefined
  const header = text.slice(0, itemsLine.index)
  const regionStart = itemsLine.index + itemsLine[0].length
  if (!isSimple(header) || !hasOnlyCrlf(text)) return undefined

  const bounds: number[] = []
  let indent = -1
  let regionEnd = text.length
  for (let pos = regionStart; pos < text.length; ) {
    const nl = text.indexOf('\n', pos)
    const next = nl === -1 ? text.length : nl + 1
    let spaces = 0
    while (text.charCodeAt(pos + spaces) === SPACE) spaces++
    const at = pos + spaces
    const c = text.charCodeAt(at)
    if (at >= text.length || c === LF || c === CR || c === HASH) {
      pos = next // blank or a comment: part of whichever entry it follows
      continue
    }
    const after = text.charCodeAt(at + 1)
    const isEntry = c === DASH && (at + 1 >= text.length || after === SPACE || after === TAB || after === CR || after === LF)
    if (indent === -1) {
      if (!isEntry) return undefined // not a block sequence: `items:` is null, or a flow `[...]` on the next line
      indent = spaces
    }
    if (isEntry && spaces === indent) {
      bounds.push(pos)
    } else if (spaces === 0 && !isEntry && c !== TAB) {
      regionEnd = pos // the next top-level key
      break
    } else if (spaces <= indent) {
      return undefined // less indented than the entries, a tab where indentation counts, a non-entry at their column
    }
    pos = next
  }
  const tail = text.slice(regionEnd)
  if (bounds.length === 0 || !isSimple(tail)) return undefined
  bounds.push(regionEnd)
  const eol = itemsLine[0].endsWith('\r\n') ? '\r\n' : '\n'
  return { skeleton: `${header}items: []${eol}${tail}`, bounds }
}
