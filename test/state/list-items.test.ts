import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import type { UpgradeGuardError } from '../../src/errors.js'
import { loadFileView } from '../../src/state/file-view.js'
import { listLayout } from '../../src/state/list-items.js'
import { forEachStateObject, readStateFile, type StateObject } from '../../src/state/manifests.js'
import { MemoryView } from '../../src/state/memory-view.js'

const DIR = mkdtempSync(join(tmpdir(), 'ug-list-items-'))
afterAll(() => rmSync(DIR, { recursive: true, force: true }))
let files = 0

/** An outcome comparable with toEqual: the objects, or the error's class, code, line and field. */
type Outcome = { readonly objects: readonly StateObject[] } | { readonly error: { readonly name: string; readonly code: unknown; readonly line: string; readonly field: unknown } }

function outcome(read: () => StateObject[]): Outcome {
  try {
    return { objects: read() }
  } catch (e) {
    const err = e as { name: string; code?: unknown; toLine?: () => string; message: string; field?: unknown }
    return { error: { name: err.name, code: err.code, line: err.toLine?.() ?? err.message, field: err.field } }
  }
}

/** What loadFileView does with one file: entry by entry, and whole again if that gave up half-way. */
function streamed(file: string): StateObject[] {
  let got: StateObject[] = []
  if (!forEachStateObject(file, (o) => got.push(o))) {
    got = []
    expect(forEachStateObject(file, (o) => got.push(o), true)).toBe(true)
  }
  return got
}

/** Both readings of one text, as a file with that name. */
function bothWays(text: string, name = 'state.yaml'): { readonly whole: Outcome; readonly entries: Outcome; readonly file: string } {
  const dir = join(DIR, String(files++))
  mkdirSync(dir)
  const file = join(dir, name)
  writeFileSync(file, text)
  return { whole: outcome(() => readStateFile(file)), entries: outcome(() => streamed(file)), file }
}

const cm = (name: string, indent: string, extra: readonly string[] = []): string =>
  [`${indent}- apiVersion: v1`, `${indent}  kind: ConfigMap`, `${indent}  metadata:`, `${indent}    name: ${name}`, ...extra.map((l) => `${indent}  ${l}`)].join('\n') + '\n'
const list = (items: string, { before = 'apiVersion: v1\nkind: List\n', after = 'metadata:\n  resourceVersion: ""\n' } = {}): string => `${before}items:\n${items}${after}`

describe('reading a kind: List entry by entry gives what the whole-file parse gives', () => {
  it.each([
    { name: 'kubectl layout: indentless entries, kind after items', cut: true, text: `apiVersion: v1\nitems:\n${cm('a', '')}${cm('b', '')}kind: List\nmetadata:\n  resourceVersion: ""\n` },
    { name: 'indented entries', cut: true, text: list(cm('a', '  ') + cm('b', '  ')) },
    { name: 'deeply indented entries', cut: true, text: list(cm('a', '    ') + cm('b', '    ')) },
    { name: 'no fields after the items', cut: true, text: `apiVersion: v1\nkind: List\nitems:\n${cm('a', '  ')}${cm('b', '  ')}` },
    { name: 'no newline at the end', cut: true, text: `apiVersion: v1\nkind: List\nitems:\n${cm('a', '  ')}${cm('b', '  ').trimEnd()}` },
    { name: 'CRLF line ends', cut: true, text: list(cm('a', '') + cm('b', '')).replaceAll('\n', '\r\n') },
    {
      name: 'literal block scalar with lines that start with "- "',
      cut: true,
      text: list(cm('a', '', ['data:', '  script: |', '    - not an entry', '    - nor this', '  other: x']) + cm('b', '')),
    },
    { name: 'folded block scalar, keep chomping, blank lines before the next entry', cut: true, text: list(cm('a', '  ', ['data:', '  k: >+', '    one', '    - two', '', '', '']) + cm('b', '  ')) },
    { name: 'strip chomping and an indentation indicator', cut: true, text: list(cm('a', '', ['data:', '  k: |2-', '      indented', '    less', '', '  j: |+', '    kept', '']) + cm('b', '')) },
    { name: 'keep chomping on the last entry before kind:', cut: true, text: `apiVersion: v1\nitems:\n${cm('a', '', ['data:', '  k: |+', '    kept', '', ''])}kind: List\n` },
    { name: 'quoted multi-line strings', cut: true, text: list(cm('a', '  ', ['data:', '  d: "first', '    - second"', "  s: 'one", '', "    two'"]) + cm('b', '  ')) },
    { name: 'comments everywhere', cut: true, text: `# a list\napiVersion: v1\nkind: List\n# before\nitems:\n# first\n${cm('a', '  ', ['# inside', 'data: {k: v} # trailing'])}#   - not an entry\n  # - nor this\n${cm('b', '  ')}# after\nmetadata: {}\n` },
    { name: 'nested indentless and indented sequences', cut: true, text: list(cm('a', '', ['data:', '  seq:', '  - x', '  - - y', '    - z', '  other:', '    - 1']) + cm('b', '')) },
    { name: 'an entry that starts on the next line', cut: true, text: list(`  -\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n${cm('b', '  ')}`) },
    { name: 'flow style inside an entry', cut: true, text: list(`- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {a: "- b"}}\n- {apiVersion: v1,\n   kind: ConfigMap, metadata: {name: b}}\n`) },
    { name: 'anchors and aliases inside one entry', cut: true, text: list(cm('a', '', ['data: &d {k: v}', 'copy: *d']) + cm('b', '')) },
    { name: 'an alias to an anchor of an earlier entry', cut: true, text: list(cm('a', '', ['data: &d {k: v}']) + cm('b', '', ['data: *d'])) },
    { name: 'a quoted string spanning two entries', cut: true, text: list(cm('a', '', ['data: {k: "x']) + '- y"}\n' + cm('b', '')) },
    { name: 'tags', cut: true, text: list(cm('a', '', ['data: !!map {k: !!str 1}']) + cm('b', '')) },
    { name: 'a KCP with timestamps and versions (core schema)', cut: true, text: list('- apiVersion: controlplane.cluster.x-k8s.io/v1beta1\n  kind: KubeadmControlPlane\n  metadata:\n    name: cp\n    namespace: ns\n    creationTimestamp: 2026-11-22T20:46:47Z\n  spec:\n    version: v1.33.7-2\n    replicas: 3\n    x: 0x1F\n    y: .inf\n    z: ~\n') },
    { name: 'an own __proto__ key', cut: true, text: list(cm('a', '', ['data:', '  __proto__: {polluted: true}'])) },
    { name: 'items: []', cut: false, text: 'apiVersion: v1\nkind: List\nitems: []\n' },
    { name: 'a flow list on the next line', cut: false, text: 'apiVersion: v1\nkind: List\nitems:\n  [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}]\n' },
    { name: 'multi-document file', cut: false, text: `${list(cm('a', ''))}---\n${list(cm('b', ''))}` },
    { name: 'a leading document marker', cut: false, text: `---\n${list(cm('a', ''))}` },
    { name: 'a lone CR', cut: false, text: list(cm('a', '', ['data: {k: "x\ry"}'])) },
    { name: 'a tab where indentation counts', cut: false, text: list(cm('a', '  ') + '\t\n' + cm('b', '  ')) },
    { name: 'an odd top-level key', cut: false, text: list(cm('a', ''), { after: 'extra: 1\n' }) },
    { name: 'an anchor in the List fields', cut: false, text: list(cm('a', ''), { after: 'metadata: &m {}\n' }) },
    { name: 'a quoted List field spanning lines', cut: false, text: `apiVersion: "v1\nitems:\n- x"\nkind: List\nitems:\n${cm('a', '')}` },
    { name: 'a less indented line among indented entries', cut: false, text: list(`${cm('a', '    ')}  x: 1\n${cm('b', '    ')}`) },
    { name: 'a key at the entries column', cut: false, text: list(`${cm('a', '  ')}  x: 1\n`) },
    { name: 'not a List (kind does not end in List)', cut: true, text: list(cm('a', ''), { before: 'apiVersion: v1\nkind: ConfigMap\n', after: 'metadata:\n  name: x\n' }) },
    { name: 'a *List kind', cut: true, text: list(cm('a', '') + cm('b', ''), { before: 'apiVersion: v1\nkind: ConfigMapList\n' }) },
    { name: 'a JSON file', cut: false, file: 'state.json', text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }] }) },
    { name: 'JSON text in a .yaml file', cut: false, text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }] }, null, 2) },
    { name: 'a plain object', cut: false, text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' },
    { name: 'an empty file', cut: false, text: '' },
  ])('$name', ({ text, cut, file }) => {
    const { whole, entries } = bothWays(text, file)
    expect(entries).toEqual(whole)
    if (file === undefined) expect(listLayout(text) !== undefined).toBe(cut)
  })

  it.each([
    { name: 'invalid YAML in a later entry', text: list(cm('a', '') + cm('b', '', ['data: {k: [}'])) },
    { name: 'invalid YAML in the first entry', text: list(cm('a', '', ['data: {k: [}']) + cm('b', '')) },
    { name: 'a bad object, then invalid YAML further down', text: list('- 3\n' + cm('b', '', ['data: "open'])) },
    { name: 'a later entry without a name', text: list(cm('a', '') + '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n') },
    { name: 'an entry without a kind', text: list('- apiVersion: v1\n  metadata: {name: x}\n' + cm('b', '')) },
    { name: 'a scalar entry', text: list(cm('a', '') + '- just text\n') },
    { name: 'a duplicate key in an entry', text: list(cm('a', '') + cm('b', '', ['data: {}', 'data: {}'])) },
    { name: 'a duplicate List field', text: list(cm('a', ''), { after: 'kind: List\n' }) },
    { name: 'an alias to an unknown anchor', text: list(cm('a', '', ['data: *nowhere'])) },
    { name: 'an alias in a List field to an entry anchor', text: list(cm('a', '', ['data: &d {}']), { after: 'metadata: *d\n' }) },
    { name: 'nesting past js-yaml depth limit in an entry', text: list(cm('a', '', [`data: ${'['.repeat(98)}1${']'.repeat(98)}`])) },
    { name: 'nesting just below the limit', text: list(cm('a', '', [`data: ${'['.repeat(96)}1${']'.repeat(96)}`])) },
    { name: 'a null byte', text: list(cm('a', '', ['data: "\0"'])) },
    { name: 'items: null', text: 'apiVersion: v1\nkind: List\nitems:\nmetadata: {}\n' },
  ])('the same error (or objects): $name', ({ text }) => {
    const { whole, entries } = bothWays(text)
    expect(entries).toEqual(whole)
  })

  it('a fleet-sized file is cut into its entries', () => {
    const text = list(Array.from({ length: 500 }, (_, i) => cm(`cm-${i}`, '', ['data:', '  script: |', '    - x'])).join(''))
    expect(listLayout(text)?.bounds.length).toBe(501)
    const { whole, entries } = bothWays(text)
    expect(entries).toEqual(whole)
  })
})

describe('differential: random List files read both ways', () => {
  const scalar = fc.constantFrom('x', '"- quoted"', "'it''s'", '"two\\nlines"', '1', 'true', '~', '2026-11-22T20:46:47Z', 'v1.33.7', '"a: b"', '- not a seq?', '[a, b]', '{k: v}', '&a anchored', '*a', '!!str 3', '"open')
  const block = fc.constantFrom(
    ['|', '  - a', '  - b'],
    ['>-', '  folded', '  - line', '', '  more'],
    ['|+', '  kept', '', ''],
    ['|2', '    two more'],
    ['"multi', '  - line', '  quoted"'],
    ["'single", '', "  - quoted'"],
    ['', '  - a', '  - b: c', '  -   - nested'],
    ['', '- indentless', '- seq'],
    ['', '  # a comment', '  k: v'],
    ['&b', '  k: v'],
    ['*b'],
    // `^`: at column 0, not indented with the entry (continuations that look like entries or List fields)
    ['"multi', '^- line"'],
    ["'multi", '^kind: List', "^  - x'"],
    ['{k: [1,', '^- 2]}'],
    ['"x', '^items:', '^- y"'],
  )
  const field = fc.oneof(
    fc.tuple(fc.constantFrom('a', 'b', 'data', 'spec'), scalar).map(([k, v]) => [`${k}: ${v}`]),
    fc.tuple(fc.constantFrom('c', 'script', 'items'), block).map(([k, [first, ...rest]]) => [`${k}:${first === '' ? '' : ` ${first}`}`, ...rest]),
    fc.constant(['# comment']),
    fc.constant(['']),
  )
  const entry = fc.record({ name: fc.constantFrom('a', 'b', 'c', ''), fields: fc.array(field, { maxLength: 4 }), nextLine: fc.boolean() })
  const file = fc.record({
    indent: fc.constantFrom('', '  ', '    '),
    entries: fc.array(entry, { minLength: 1, maxLength: 5 }),
    kindAfter: fc.boolean(),
    crlf: fc.boolean(),
    between: fc.constantFrom('', '\n', '# between\n', '  # indented comment\n'),
    tail: fc.constantFrom('', 'metadata:\n  resourceVersion: ""\n', 'metadata: {}\n', 'extra: x\n', '# end\n'),
  })
  const render = (f: fc.RecordValue<{ indent: string; entries: { name: string; fields: string[][]; nextLine: boolean }[]; kindAfter: boolean; crlf: boolean; between: string; tail: string }>): string => {
    const entries = f.entries
      .map((e) => {
        const body = ['apiVersion: v1', 'kind: ConfigMap', ...(e.name === '' ? [] : [`metadata: {name: ${e.name}}`]), ...e.fields.flat()]
        const [first, ...rest] = body
        const indented = (l: string): string => (l === '' ? '' : l.startsWith('^') ? l.slice(1) : `${f.indent}  ${l}`)
        const lines = e.nextLine ? [`${f.indent}-`, ...body.map(indented)] : [`${f.indent}- ${first}`, ...rest.map(indented)]
        return `${lines.join('\n')}\n`
      })
      .join(f.between)
    const text = f.kindAfter ? `apiVersion: v1\nitems:\n${entries}kind: List\n${f.tail}` : `apiVersion: v1\nkind: List\nitems:\n${entries}${f.tail}`
    return f.crlf ? text.replaceAll('\n', '\r\n') : text
  }

  it('the same objects or the same error, and most valid files are cut', () => {
    let cut = 0
    fc.assert(
      fc.property(file, (f) => {
        const text = render(f)
        const { whole, entries } = bothWays(text)
        expect(entries).toEqual(whole)
        if ('objects' in whole && listLayout(text) !== undefined) cut++
      }),
      { numRuns: 400, seed: 12 },
    )
    expect(cut).toBeGreaterThan(50)
  })
})

describe('loadFileView', () => {
  const kcp = (name: string, extra = ''): string =>
    `- apiVersion: controlplane.cluster.x-k8s.io/v1beta1\n  kind: KubeadmControlPlane\n  metadata:\n    name: ${name}\n    namespace: ns\n    labels: {cluster.x-k8s.io/cluster-name: ${name}}\n  spec:\n    version: v1.33.7\n${extra}`
  const records = (view: MemoryView) => view.guardedObjects().map((o) => o.raw)

  it('fills the same view as the whole-file parse, also when an entry aliases an anchor of an earlier one', () => {
    const dir = join(DIR, 'view')
    mkdirSync(dir)
    writeFileSync(join(dir, 'a.yaml'), `apiVersion: v1\nitems:\n${kcp('one', '    rolloutStrategy: &s {type: RollingUpdate}\n')}${kcp('two', '    rolloutStrategy: *s\n')}kind: List\n`)
    writeFileSync(join(dir, 'b.yaml'), `apiVersion: v1\nkind: List\nitems:\n${kcp('three')}${kcp('four')}`)
    const catalog = { namespace: 'cpaas-system', name: 'elemental-image-catalog' }
    const { view, ignored } = loadFileView([dir], catalog)
    const expected = new MemoryView(catalog)
    for (const f of ['a.yaml', 'b.yaml']) for (const o of readStateFile(join(dir, f))) expected.upsert(o.object)
    expect(ignored).toBe(0)
    expect(records(view)).toEqual(records(expected))
    expect(view.counts().controlPlanes).toBe(4)
  })

  it('a bad entry fails the load with the whole-file error, naming file and document', () => {
    const dir = join(DIR, 'bad')
    mkdirSync(dir)
    writeFileSync(join(dir, 'a.yaml'), `apiVersion: v1\nkind: List\nitems:\n${kcp('one')}- apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n`)
    let error: unknown
    try {
      loadFileView([dir], { namespace: 'x', name: 'y' })
    } catch (e) {
      error = e
    }
    expect((error as UpgradeGuardError).toLine()).toBe(`${join(dir, 'a.yaml')}: document 1 items[1]: metadata.name: is required (a string)`)
  })
})
