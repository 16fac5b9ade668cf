/**
 * @module test/server/log-batching
 * The cheap log path: LineBatcher gathers lines and hands them on in pieces (nothing lost,
 * nothing reordered, flushed on demand), and the decision logger's direct line writer writes
 * the very line pino would (same keys, same order, same values).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLogger, decisionLogger, LineBatcher, lineWriterOf } from '../../src/log.js'
import { decisionFields, decisionMembers, logDecision, type DecisionLogInput } from '../../src/server/log.js'
import { duplicateKeys } from '../helpers/json-keys.js'

/** Collects what the batcher hands on (Buffers), as text. */
class Sink {
  readonly writes: string[] = []
  readonly chunks: Buffer[] = []
  flushed = 0
  synced = 0
  write(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.writes.push(chunk.toString('utf8'))
  }
  flush(cb: (err?: Error) => void): void {
    this.flushed++
    cb()
  }
  flushSync(): void {
    this.synced++
  }
}

describe('LineBatcher', () => {
  it('holds lines while the next one surely fits, then hands them on as one piece, in order', () => {
    const sink = new Sink()
    const b = new LineBatcher(sink, 100)
    // 11 bytes each; a line may take up to 3 bytes per UTF-16 unit, so one of 11 units needs 33 free.
    for (let i = 0; i < 7; i++) b.write(`line ${i} xxx\n`)
    expect(sink.writes).toEqual([])
    b.write('line 7 xxx\n')
    expect(sink.writes).toEqual([Array.from({ length: 7 }, (_, i) => `line ${i} xxx\n`).join('')])
    b.drain()
    expect(sink.writes[1]).toBe('line 7 xxx\n')
  })

  it('drain, flush(cb) and flushSync hand on what is left; an empty batcher writes nothing', () => {
    const sink = new Sink()
    const b = new LineBatcher(sink, 1_000)
    b.drain()
    expect(sink.writes).toEqual([])
    b.write('a\n')
    b.drain()
    expect(sink.writes).toEqual(['a\n'])
    b.write('b\n')
    let called = false
    b.flush(() => (called = true))
    expect(called).toBe(true)
    expect(sink.writes).toEqual(['a\n', 'b\n'])
    b.write('c\n')
    b.flushSync()
    expect(sink.writes).toEqual(['a\n', 'b\n', 'c\n'])
    expect(sink.synced).toBe(1)
  })

  it('a piece never exceeds the limit in bytes, a line is never split, and multi-byte text arrives whole', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 60 }), fc.integer({ min: 8, max: 200 }), (texts, limit) => {
        const sink = new Sink()
        const b = new LineBatcher(sink, limit)
        const lines = texts.map((t) => `${t.replace(/\n/g, ' ')}\n`)
        for (const line of lines) b.write(line)
        b.drain()
        expect(sink.writes.join('')).toBe(lines.join(''))
        for (const [i, chunk] of sink.chunks.entries()) {
          const text = sink.writes[i] ?? ''
          // Each piece is whole lines; only a line longer than the limit may exceed it, alone.
          expect(text.endsWith('\n')).toBe(true)
          if (chunk.length > limit) expect(text.indexOf('\n')).toBe(text.length - 1)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('a piece handed on stays as it was when more lines come (the destination may keep it)', () => {
    const sink = new Sink()
    // Both lines fit the batcher's buffer (11 and 12 units, at most 36 bytes each): the second is
    // encoded where the first was before it was handed on.
    const b = new LineBatcher(sink, 100)
    b.write('first line\n')
    b.drain()
    b.write('second line\n')
    b.drain()
    expect(sink.chunks.map((c) => c.toString('utf8'))).toEqual(['first line\n', 'second line\n'])
  })

  it('flush(cb) calls back even when the destination has no flush of its own', () => {
    const writes: string[] = []
    const b = new LineBatcher({ write: (c: Buffer) => writes.push(c.toString('utf8')) }, 1_000)
    b.write('x\n')
    let called = false
    b.flush(() => (called = true))
    expect(called).toBe(true)
    expect(writes).toEqual(['x\n'])
  })
})

describe('the decision line writer', () => {
  const fields = { uid: 'u"\\\u2028', kind: 'MachineDeployment', namespace: 'ns', object: 'md-1', endpoint: 'validate', operation: 'UPDATE', user: 'ädmin', dryRun: false, allowed: false, decision: 'denied', denied: ['workers-follow-control-plane'], warned: [], audited: [], bypassed: [], patchOps: 2, latency_ms: 0.123 }

  it('writes the line pino writes (time aside), one JSON object, no key twice', () => {
    const lines: string[] = []
    const root = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } })
    const out = decisionLogger(root, { component: 'admission' })
    out.info(fields, 'admission decision')
    const write = lineWriterOf(out)
    expect(write).toBeDefined()
    write?.(JSON.stringify(fields).slice(1, -1), 'admission decision')
    expect(lines).toHaveLength(2)
    const [viaPino, direct] = lines.map((l) => l.replace(/"time":\d+/, '"time":0'))
    expect(direct).toBe(viaPino)
    expect(direct?.endsWith('}\n')).toBe(true)
    expect(duplicateKeys(lines[1] ?? '')).toEqual([])
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ level: 'info', name: 'upgrade-guard', component: 'admission', ...fields, msg: 'admission decision' })
  })

  it('exists only for decision loggers over createLogger', () => {
    const root = createLogger({ level: 'info', destination: { write: () => undefined } })
    expect(lineWriterOf(root)).toBeUndefined()
    expect(lineWriterOf(root.child({ component: 'x' }))).toBeUndefined()
  })
})

describe('the decision line, written straight', () => {
  const idsArb = fc.array(fc.constantFrom('catalog-key', 'max-surge-zero', 'control-plane-minor-step', 'worker-skew'), { maxLength: 3 })
  const inputArb = fc.record({
    endpoint: fc.constantFrom('validate' as const, 'mutate' as const),
    uid: fc.string({ unit: 'binary' }),
    kind: fc.string(),
    namespace: fc.string({ unit: 'grapheme' }),
    name: fc.string({ unit: 'binary' }),
    operation: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', '?'),
    subResource: fc.option(fc.string(), { nil: undefined }),
    username: fc.string({ unit: 'binary' }),
    dryRun: fc.boolean(),
    allowed: fc.boolean(),
    skipped: fc.option(fc.constantFrom('not-guarded' as const, 'exempt-namespace' as const, 'delete' as const), { nil: undefined }),
    patchOps: fc.option(fc.nat(20), { nil: undefined }),
    latencyMs: fc.oneof(fc.double({ min: 0, max: 10_000, noNaN: true }), fc.constantFrom(0, 1e-7, Number.NaN, Number.POSITIVE_INFINITY)),
    ids: fc.record({ denied: idsArb, warned: idsArb, audited: idsArb, bypassed: idsArb }),
  })
  const inputOf = (g: fc.RecordValue<typeof inputArb extends fc.Arbitrary<infer T> ? T : never>): DecisionLogInput => ({
    endpoint: g.endpoint,
    latencyMs: g.latencyMs,
    outcome: {
      kind: 'response',
      body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: g.uid, allowed: g.allowed } },
      request: { uid: g.uid, kind: g.kind, namespace: g.namespace, name: g.name, operation: g.operation, ...(g.subResource !== undefined ? { subResource: g.subResource } : {}), username: g.username, dryRun: g.dryRun },
      ...(g.endpoint === 'validate' ? { decision: { denied: [], warnings: [], audited: [], bypassed: [], evaluated: [], ...(g.skipped !== undefined ? { skipped: g.skipped } : {}) } as never } : {}),
      ...(g.endpoint === 'mutate' && g.patchOps !== undefined ? { mutation: { patch: Array.from({ length: g.patchOps }, () => ({ op: 'add', path: '/x', value: 1 })), warnings: [] } as never } : {}),
    },
  })

  it('is the JSON text of the fields pino would be given, for any names and values', () => {
    fc.assert(
      fc.property(inputArb, (g) => {
        const input = inputOf(g)
        expect(decisionMembers(input, g.ids)).toBe(JSON.stringify(decisionFields(input, g.ids)).slice(1, -1))
      }),
      { numRuns: 2_000 },
    )
  })

  it('logDecision writes the same line with or without the direct writer', () => {
    fc.assert(
      fc.property(inputArb, (g) => {
        const lines: string[] = []
        const root = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } })
        const direct = decisionLogger(root, { component: 'admission' })
        logDecision(direct, { ...inputOf(g), ids: g.ids }, root)
        // The same logger's fields through pino itself.
        direct.info(decisionFields(inputOf(g), g.ids), 'admission decision')
        // The info line comes first (bypass warn lines, if any, after it); pino's is the last.
        const [written, viaPino] = [lines[0], lines.at(-1)].map((l) => l?.replace(/"time":\d+/, '"time":0'))
        expect(written).toBe(viaPino)
        expect(lines).toHaveLength(2 + g.ids.bypassed.length)
      }),
      { numRuns: 300 },
    )
  })
})
