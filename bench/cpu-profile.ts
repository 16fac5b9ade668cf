/**
 * @module bench/cpu-profile
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self time,
 * and the project's own functions (dist/) by inclusive time, so a missed target points at code.
 *
 * Usage: node dist-bench/bench/cpu-profile.js FILE.cpuprofile [top] [function whose callers to show...]
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ROOT } from './processes.js'


interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface HotSpot {
  readonly name: string
  readonly where: string
  readonly selfShare: number
  readonly totalShare: number
}

const where = (url: string, line: number): string => {
  if (url === '') return '(native)'
  const path = url.replace(/^file:\/\//, '')
  const i = path.lastIndexOf('/node_modules/')
  const short = i >= 0 ? path.slice(i + 1) : path.startsWith(ROOT) ? path.slice(ROOT.length) : path
  return `${short}:${line + 1}`
}

/** Self and inclusive time share per function (merged over call sites), highest self first. */
export function hotSpots(file: string): { readonly self: HotSpot[]; readonly own: HotSpot[]; readonly sampledMs: number } {
  const { byId, parent, time: selfTime } = loadProfile(file)
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0)
  const keyOf = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}\u0000${where(n.callFrame.url, n.callFrame.lineNumber)}`
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, t] of selfTime) {
    const node = byId.get(id)
    if (node === undefined) continue
    self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + t)
    // Each function once per sample stack (recursion must not count twice).
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n === undefined) break
      const k = keyOf(n)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + t)
    }
  }
  const spot = (k: string): HotSpot => {
    const [name = '', at = ''] = k.split('\u0000')
    return { name, where: at, selfShare: (self.get(k) ?? 0) / total, totalShare: (inclusive.get(k) ?? 0) / total }
  }
  const skip = new Set(['(root)', '(program)', '(idle)'])
  const all = [...inclusive.keys()].map(spot).filter((s) => !skip.has(s.name))
  return {
    self: [...all].sort((a, b) => b.selfShare - a.selfShare),
    own: all.filter((s) => s.where.startsWith('dist/') && !s.where.startsWith('dist-bench/bench/')).sort((a, b) => b.totalShare - a.totalShare),
    sampledMs: total / 1000,
  }
}

/** A .cpuprofile as lookups: nodes by id, each node's parent, and sampled time per node (µs). */
function loadProfile(file: string) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const time = new Map<number, number>()
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  return { profile, byId, parent, time }
}

/** Who calls a function (by name): the distinct call paths into it, `depth` frames up, by time. */
export function callersOf(file: string, name: string, depth = 4, top = 8): string {
  const { byId, parent, time } = loadProfile(file)
  const paths = new Map<string, number>()
  let total = 0
  for (const [id, t] of time) {
    if (byId.get(id)?.callFrame.functionName !== name) continue
    total += t
    const frames: string[] = []
    for (let cur = parent.get(id); cur !== undefined && frames.length < depth; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n === undefined) break
      frames.push(`${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url, n.callFrame.lineNumber)}`)
    }
    const key = frames.join(' <- ')
    paths.set(key, (paths.get(key) ?? 0) + t)
  }
  const lines = [`  callers of ${name} (${(total / 1000).toFixed(0)} ms self):`]
  for (const [k, t] of [...paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
  return lines.join('\n')
}

interface Frame {
  readonly functionName: string
  readonly url: string
}

/** Where a sample's CPU went, by what the request handling was doing (first match wins). */
const CATEGORIES: readonly { readonly name: string; readonly test: (stack: readonly Frame[], leaf: Frame) => boolean }[] = [
  { name: 'GC', test: (_s, leaf) => leaf.functionName === '(garbage collector)' },
  { name: 'logging: logDecision -> pino (child logger, serialize, sync write)', test: (s) => s.some((c) => /\/(pino|sonic-boom)\//.test(c.url) || c.url.endsWith('dist/server/log.js')) },
  { name: 'metrics: observeDecision -> prom-client', test: (s) => s.some((c) => c.url.includes('/prom-client/') || c.url.endsWith('dist/server/metrics.js')) },
  { name: 'decision: review() (envelope check, evaluate, rules, response)', test: (s) => s.some((c) => c.url.endsWith('dist/admission/review.js') && c.functionName === 'review') },
  { name: 'serializeOutcome (JSON.stringify of the answer)', test: (s) => s.some((c) => c.url.endsWith('dist/admission/review.js') && c.functionName === 'serializeOutcome') },
  { name: 'JSON.parse of the body (reviewText)', test: (s) => s.some((c) => c.url.endsWith('dist/admission/review.js') && c.functionName === 'reviewText') },
  { name: 'socket/TLS write (native)', test: (_s, leaf) => ['writeUtf8String', 'writev', 'writeBuffer', 'writeLatin1String'].includes(leaf.functionName) },
  { name: 'baseline handler (JSON.parse, answer)', test: (s) => s.some((c) => c.url.endsWith('dist-bench/bench/baseline-server.js')) },
  { name: 'fastify (routing, hooks, content-type parser, reply)', test: (s) => s.some((c) => /\/(fastify|find-my-way|avvio|@fastify|fast-json-stringify|secure-json-parse|toad-cache)\//.test(c.url)) },
  { name: 'node http/tls/stream internals and other', test: () => true },
]

/** Shares of busy (non-idle) CPU per category. */
export function breakdown(file: string): { readonly busyMs: number; readonly shares: readonly { readonly name: string; readonly share: number }[] } {
  const { byId, parent, time } = loadProfile(file)
  const totals = new Map<string, number>()
  let busy = 0
  for (const [id, t] of time) {
    const stack: Frame[] = []
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)
      if (n !== undefined) stack.push(n.callFrame)
    }
    const leaf = stack[0]
    if (leaf === undefined || ['(idle)', '(program)', '(root)'].includes(leaf.functionName)) continue
    busy += t
    const category = CATEGORIES.find((c) => c.test(stack, leaf))?.name ?? 'other'
    totals.set(category, (totals.get(category) ?? 0) + t)
  }
  return { busyMs: busy / 1000, shares: [...totals.entries()].map(([name, t]) => ({ name, share: t / busy })).sort((a, b) => b.share - a.share) }
}

export function formatHotSpots(file: string, top = 15): string {
  const { self, own, sampledMs } = hotSpots(file)
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`
  const parts = breakdown(file)
  const lines = [`profile ${file} (${sampledMs.toFixed(0)} ms sampled, ${parts.busyMs.toFixed(0)} ms busy)`, '  busy CPU by activity:']
  for (const c of parts.shares) lines.push(`    ${pct(c.share)}  ${c.name}`)
  lines.push('  self time:')
  for (const s of self.slice(0, top)) lines.push(`    ${pct(s.selfShare)} self ${pct(s.totalShare)} total  ${s.name}  ${s.where}`)
  lines.push('  upgrade-guard functions by inclusive time:')
  for (const s of own.slice(0, top)) lines.push(`    ${pct(s.totalShare)} total ${pct(s.selfShare)} self  ${s.name}  ${s.where}`)
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top, ...callers] = process.argv.slice(2)
  if (file === undefined) {
    process.stderr.write('usage: node dist-bench/bench/cpu-profile.js FILE.cpuprofile [top] [function whose callers to show...]\n')
    process.exit(2)
  }
  process.stdout.write(`${formatHotSpots(file, top === undefined ? 15 : Number(top))}\n`)
  for (const name of callers) process.stdout.write(`${callersOf(file, name)}\n`)
}
