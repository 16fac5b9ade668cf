/**
 * @module bench/run
 * `npm run bench`: the evidence behind the README's "Performance and robustness" table, in one run.
 *
 * 1. Baseline vs webhook. A bare node:https server that parses the AdmissionReview and answers
 *    `allowed: true` (bench/baseline-server), then the real webhook as deployed
 *    (`node dist/cli/main.js serve`, embedded default policy, examples/state), each a child
 *    process with the SAME certificate (made by the generator `serve --self-signed` uses) and
 *    driven by autocannon from this process: keep-alive TLS, POST /validate, rotating a KCP
 *    UPDATE, an MD UPDATE and a catalog UPDATE shaped like the API server's. Requests/s,
 *    p50/p99, errors; the ratio; the server-side p99 from the webhook's own /metrics histogram.
 * 2. Big state: 1,000 Clusters, 1,000 KCPs, 5,000 MDs generated as `kubectl get -o yaml` files.
 *    The webhook started with them (`serve --state DIR`): start-up, RSS, load, server-side p99.
 *    A probe process that fills the view from JSON lists (as list+watch does): RSS, and 10,000
 *    in-process review() calls over that view (p50/p99).
 * 3. `upgrade-guard validate` over 1,000 proposed objects against the big state (issue 6: < 2 s).
 *
 * Everything listens on 127.0.0.1 only. Options:
 *   --seconds N        per measured load phase (default 10), after --warmup N seconds (default 3)
 *   --connections N    keep-alive connections (default 10)
 *   --rounds N         baseline/webhook pairs, interleaved (default 3; throughput on this
 *                      machine varies ±15% from run to run, medians are reported)
 *   --profile          run baseline and webhook under --cpu-prof and print their hot spots
 *   --keep             keep the temporary folder (logs, profiles, generated state)
 *   --out FILE         results JSON (default .run/bench/results.json)
 *   --compare-only     section 1 only
 *   --node-options="FLAGS", --webhook-args="FLAGS"  extra Node / `serve` flags for the webhook
 *                      processes (experiments, e.g. --webhook-args="--log-level warn")
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateCertificates } from '../src/server/certificates.js'
import { benchBodies, EXAMPLE_TARGET, type BenchBody } from './bodies.js'
import { formatHotSpots } from './cpu-profile.js'
import { BIG_STATE, clusterLayout, generateProposed, generateState } from './generate-state.js'
import { runLoad, type LoadResult } from './load.js'
import { memoryOf, freePort, getText, postReview, ROOT, spawnNode, waitUntil, type Child, type Memory } from './processes.js'
import { quantile, readHistogram, subtract, type HistogramSnapshot } from './prometheus.js'

const TARGETS = { ratio: 0.85, serverP99Ms: 0.5, rssMiB: 100, validateSeconds: 2 } as const
const HISTOGRAM = 'upgrade_guard_decision_duration_seconds'

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: '' },
    'compare-only': { type: 'boolean', default: false },
    'webhook-args': { type: 'string', default: '' },
    out: { type: 'string', default: join(ROOT, '.run/bench/results.json') },
  },
})
const SECONDS = Number(flags.seconds)
const WARMUP = Number(flags.warmup)
const CONNECTIONS = Number(flags.connections)
const ROUNDS = Number(flags.rounds)
/** Extra Node flags for the webhook processes only (experiments, e.g. --max-semi-space-size=2). */
const WEBHOOK_NODE_OPTIONS = flags['node-options'].split(/\s+/).filter((o) => o !== '')
/** Extra `serve` flags (experiments, e.g. --log-level warn). */
const WEBHOOK_ARGS = flags['webhook-args'].split(/\s+/).filter((o) => o !== '')

const say = (line = ''): void => void process.stdout.write(`${line}\n`)
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a')
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : 'n/a')
const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED')

// ---------------------------------------------------------------------------------------------
// Machine

function machine(): Record<string, string> {
  const run = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim()
    } catch {
      return 'n/a'
    }
  }
  const memLine = run('free', ['-h']).split('\n').find((l) => l.startsWith('Mem:')) ?? ''
  return {
    nproc: run('nproc', []) === 'n/a' ? String(availableParallelism()) : run('nproc', []),
    cpu: cpus()[0]?.model ?? 'n/a',
    memory: memLine === '' ? `${(totalmem() / 2 ** 30).toFixed(1)} GiB` : `${memLine.split(/\s+/)[1] ?? '?'} total (free -h: ${memLine.replace(/\s+/g, ' ')})`,
    node: process.version,
    kernel: release(),
  }
}

// ---------------------------------------------------------------------------------------------
// CPU time of a child (Linux /proc) and of this process (the load generator)

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/** Busy CPU seconds of the whole machine, all cores (/proc/stat). */
function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number)
  return (user + nice + system + irq + softirq + steal) / CLK_TCK
}

interface Phase {
  readonly load: LoadResult
  /** CPU used during the measured phase, as a share of one core. */
  readonly serverCpu: number
  readonly clientCpu: number
  /** CPU the rest of the machine used meanwhile (other processes: noise), in cores. */
  readonly otherCpu: number
}

/** Warm-up, then one measured phase with the CPU it cost server, load generator and everyone else. */
async function measure(pid: number, port: number, bodies: readonly string[], between?: () => Promise<void>): Promise<Phase> {
  if (WARMUP > 0) await runLoad({ port, bodies, seconds: WARMUP, connections: CONNECTIONS })
  await between?.()
  const server0 = cpuSecondsOf(pid)
  const client0 = process.cpuUsage()
  const busy0 = machineBusySeconds()
  const t0 = performance.now()
  const load = await runLoad({ port, bodies, seconds: SECONDS, connections: CONNECTIONS })
  const wall = (performance.now() - t0) / 1000
  const client = process.cpuUsage(client0)
  const serverCpu = (cpuSecondsOf(pid) - server0) / wall
  const clientCpu = (client.user + client.system) / 1e6 / wall
  return { load, serverCpu, clientCpu, otherCpu: Math.max(0, (machineBusySeconds() - busy0) / wall - serverCpu - clientCpu) }
}

/** Server CPU time per answered request, in microseconds (less sensitive to a busy machine than req/s). */
const cpuPerRequestUs = (p: Phase): number => (p.serverCpu * 1e6) / p.load.requestsPerSecond

/** Other processes' CPU above this (cores) during a phase makes its figures noise. */
const NOISY_CORES = 0.25
const noisy: string[] = []

function printPhase(name: string, p: Phase): void {
  if (p.otherCpu > NOISY_CORES) noisy.push(`${name} (${f2(p.otherCpu)} cores used by other processes)`)
  const l = p.load
  say(`  ${name}: ${f1(l.requestsPerSecond)} req/s (${l.requests} in ${f1(l.seconds)} s), latency p50 ${f3(l.p50Ms)} ms, p99 ${f3(l.p99Ms)} ms, max ${f1(l.maxMs)} ms; errors ${l.errors}, timeouts ${l.timeouts}, non-2xx ${l.non2xx}; CPU: server ${f2(p.serverCpu)} (${f1(cpuPerRequestUs(p))} µs per request), load generator ${f2(p.clientCpu)}, other processes ${f2(p.otherCpu)} cores`)
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Tls {
  readonly cert: string
  readonly key: string
  readonly ca: string
  readonly caPem: string
}

async function writeTls(dir: string): Promise<Tls> {
  const generated = await generateCertificates()
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') }
  writeFileSync(files.cert, generated.cert)
  writeFileSync(files.key, generated.key, { mode: 0o600 })
  writeFileSync(files.ca, generated.caCert)
  return { ...files, caPem: generated.caCert }
}

async function startBaseline(tls: Tls, dir: string, profileDir?: string): Promise<{ child: Child; port: number }> {
  const port = await freePort()
  const nodeOptions = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]
  const child = spawnNode(['dist-bench/bench/baseline-server.js', '--cert', tls.cert, '--key', tls.key, '--port', String(port)], join(dir, 'baseline.log'), nodeOptions)
  await waitUntil('baseline', async () => (await postReview(port, '{"request":{"uid":"probe"}}', tls.caPem)).status === 200, child, 20_000)
  return { child, port }
}

interface Webhook {
  readonly child: Child
  readonly port: number
  readonly metricsPort: number
  readonly readyMs: number
}

async function startWebhook(tls: Tls, dir: string, state: string, name: string, profileDir?: string): Promise<Webhook> {
  const port = await freePort()
  const metricsPort = await freePort()
  const args = ['dist/cli/main.js', 'serve', '--tls-cert', tls.cert, '--tls-key', tls.key, '--state', state, '--policy', 'policies/default.yaml', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), ...WEBHOOK_ARGS]
  const nodeOptions = [...WEBHOOK_NODE_OPTIONS, ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir])]
  const child = spawnNode(args, join(dir, `${name}.log`), nodeOptions)
  const readyMs = await waitUntil(name, async () => (await getText(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200, child, 120_000)
  return { child, port, metricsPort, readyMs }
}

async function histogram(w: Webhook): Promise<HistogramSnapshot> {
  return readHistogram((await getText(`http://127.0.0.1:${w.metricsPort}/metrics`)).text, HISTOGRAM, { endpoint: 'validate' })
}

/** One verified request per body: TLS against the CA, HTTP 200, uid echoed, the expected decision. */
async function preflight(port: number, bodies: readonly BenchBody[], caPem: string, isBaseline: boolean): Promise<void> {
  for (const b of bodies) {
    const text = JSON.stringify(b.review)
    const res = await postReview(port, text, caPem)
    const uid = (b.review.request as { uid: string }).uid
    let answer: { response?: { uid?: unknown; allowed?: unknown } } = {}
    try {
      answer = JSON.parse(res.text) as typeof answer
    } catch {
      // reported below
    }
    const expected = isBaseline ? true : b.expectAllowed
    if (res.status !== 200 || answer.response?.uid !== uid || answer.response.allowed !== expected) {
      throw new Error(`preflight failed for "${b.label}" on port ${port}: HTTP ${res.status}, expected uid ${uid} allowed=${expected}, got ${res.text.slice(0, 300)}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface ServerSide {
  readonly count: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p99BucketMs: readonly [number, number]
  readonly meanMs: number
}

function serverSide(h: HistogramSnapshot): ServerSide {
  const p50 = quantile(0.5, h)
  const p99 = quantile(0.99, h)
  return { count: h.count, p50Ms: p50.value * 1000, p99Ms: p99.value * 1000, p99BucketMs: [p99.lower * 1000, p99.upper * 1000], meanMs: h.count === 0 ? Number.NaN : (h.sum / h.count) * 1000 }
}

const printServerSide = (s: ServerSide): void =>
  say(`  server-side decision time (/metrics ${HISTOGRAM}{endpoint="validate"}, this phase only, ${s.count} observations): p50 ${f3(s.p50Ms)} ms, p99 ${f3(s.p99Ms)} ms (histogram_quantile; bucket ${f3(s.p99BucketMs[0])}–${f3(s.p99BucketMs[1])} ms), mean ${f3(s.meanMs)} ms`)

function profileSummary(dir: string): string | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  return file === undefined ? undefined : formatHotSpots(join(dir, file), 12)
}

async function main(): Promise<void> {
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-'))
  const facts = machine()
  say('upgrade-guard benchmark')
  say(`machine: nproc ${facts.nproc}, ${facts.cpu}, memory ${facts.memory}, node ${facts.node}, kernel ${facts.kernel}`)
  say(`load: autocannon, ${CONNECTIONS} keep-alive TLS connections to 127.0.0.1, pipelining 1, ${WARMUP} s warm-up + ${SECONDS} s measured per phase, POST /validate?timeout=10s`)
  say('TLS: one EC P-256 certificate from the generator `serve --self-signed` uses, served by both; verified against its CA once per server (preflight); autocannon itself connects with rejectUnauthorized: false (it always does)')
  say(`work dir: ${dir}`)
  if (WEBHOOK_NODE_OPTIONS.length > 0) say(`webhook Node flags: ${WEBHOOK_NODE_OPTIONS.join(' ')}`)
  if (WEBHOOK_ARGS.length > 0) say(`extra serve flags: ${WEBHOOK_ARGS.join(' ')}`)
  const load = loadavg()
  say(`load average at start: ${load.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min); other processes' CPU is shown per phase — figures taken while other processes are busy are not comparable`)

  const tls = await writeTls(dir)
  const bodies = benchBodies(EXAMPLE_TARGET)
  const texts = bodies.map((b) => JSON.stringify(b.review))
  say(`bodies (rotated): ${bodies.map((b, i) => `${b.label} ${texts[i]?.length ?? 0} B ${b.expectAllowed ? 'allowed' : 'denied'}`).join('; ')}`)
  const results: Record<string, unknown> = { machine: facts, settings: { seconds: SECONDS, warmup: WARMUP, connections: CONNECTIONS, rounds: ROUNDS }, bodies: bodies.map((b, i) => ({ label: b.label, bytes: texts[i]?.length, allowed: b.expectAllowed })) }
  const children: Child[] = []
  const stopAll = async (): Promise<void> => void (await Promise.all(children.map((c) => c.stop())))
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)))

  try {
    // 1. Baseline vs webhook ------------------------------------------------------------------
    say()
    say('1. baseline vs webhook (embedded default policy, examples/state)')
    const rounds: { baseline: Phase; webhook: Phase; server: ServerSide; webhookMemory: Memory; baselineMemory: Memory }[] = []
    const profileDir = join(dir, 'profile')
    const baselineProfileDir = join(dir, 'profile-baseline')
    if (flags.profile) mkdirSync(baselineProfileDir, { recursive: true })
    for (let r = 0; r < ROUNDS; r++) {
      const baseline = await startBaseline(tls, dir, flags.profile && r === 0 ? baselineProfileDir : undefined)
      children.push(baseline.child)
      await preflight(baseline.port, bodies, tls.caPem, true)
      const b = await measure(baseline.child.pid, baseline.port, texts)
      const baselineMemory = memoryOf(baseline.child.pid)
      await baseline.child.stop()
      printPhase(`baseline${ROUNDS > 1 ? ` #${r + 1}` : ''}`, b)

      if (flags.profile) mkdirSync(profileDir, { recursive: true })
      const webhook = await startWebhook(tls, dir, 'examples/state', `webhook-${r}`, flags.profile && r === 0 ? profileDir : undefined)
      children.push(webhook.child)
      await preflight(webhook.port, bodies, tls.caPem, false)
      let before: HistogramSnapshot | undefined
      const w = await measure(webhook.child.pid, webhook.port, texts, async () => void (before = await histogram(webhook)))
      const server = serverSide(subtract(await histogram(webhook), before ?? (await histogram(webhook))))
      const webhookMemory = memoryOf(webhook.child.pid)
      await webhook.child.stop()
      printPhase(`webhook${ROUNDS > 1 ? ` #${r + 1}` : ''}`, w)
      printServerSide(server)
      say(`  ratio webhook/baseline: ${f3(w.load.requestsPerSecond / b.load.requestsPerSecond)} req/s (target ≥ ${TARGETS.ratio}); server CPU per request baseline/webhook ${f3(cpuPerRequestUs(b) / cpuPerRequestUs(w))}`)
      rounds.push({ baseline: b, webhook: w, server, webhookMemory, baselineMemory })
    }
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b)
      return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? Number.NaN) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2
    }
    const ratio = median(rounds.map((r) => r.webhook.load.requestsPerSecond / r.baseline.load.requestsPerSecond))
    const serverP99 = Math.max(...rounds.map((r) => r.server.p99Ms))
    results.comparison = { rounds, ratio, serverP99Ms: serverP99 }
    if (flags.profile) {
      for (const [name, d] of [['baseline', baselineProfileDir], ['webhook', profileDir]] as const) {
        const summary = profileSummary(d)
        if (summary !== undefined) say(`${name} ${summary}`)
      }
    }

    if (flags['compare-only']) {
      say(`compare-only: ratio ${f3(ratio)}, server-side p99 ${f3(serverP99)} ms`)
      return
    }

    // 2. Big state --------------------------------------------------------------------------
    say()
    say(`2. big state: ${BIG_STATE.clusters} Clusters, ${BIG_STATE.clusters} KCPs, ${BIG_STATE.clusters * BIG_STATE.mdsPerCluster} MDs`)
    const t = performance.now()
    const big = generateState(join(dir, 'big-state'), BIG_STATE, join(dir, 'big-state-json'))
    say(`  generated ${join(dir, 'big-state')} (${(big.bytes / 2 ** 20).toFixed(1)} MiB of YAML, 4 kind: List files, as kubectl get -A -o yaml prints them) in ${f1((performance.now() - t) / 1000)} s`)

    const bigWebhook = await startWebhook(tls, dir, big.dir, 'webhook-big')
    children.push(bigWebhook.child)
    const idleMemory = memoryOf(bigWebhook.child.pid)
    say(`  webhook with --state ${big.dir}: ready after ${f1(bigWebhook.readyMs / 1000)} s; RSS ${f1(idleMemory.rssMiB)} MiB (peak so far ${f1(idleMemory.peakMiB)} MiB)`)
    const bigBodies = big.layout.filter((_, i) => i % 20 === 0).flatMap((c, i) => benchBodies(c, 1000 + i * 3))
    await preflight(bigWebhook.port, bigBodies.slice(0, 6), tls.caPem, false)
    const bigTexts = bigBodies.map((b) => JSON.stringify(b.review))
    let bigBefore: HistogramSnapshot | undefined
    const bigPhase = await measure(bigWebhook.child.pid, bigWebhook.port, bigTexts, async () => void (bigBefore = await histogram(bigWebhook)))
    const bigServer = serverSide(subtract(await histogram(bigWebhook), bigBefore ?? (await histogram(bigWebhook))))
    const loadedMemory = memoryOf(bigWebhook.child.pid)
    await bigWebhook.child.stop()
    printPhase(`webhook, big state, ${bigBodies.length} bodies for ${bigBodies.length / 3} clusters`, bigPhase)
    printServerSide(bigServer)
    say(`  webhook RSS after the load phase: ${f1(loadedMemory.rssMiB)} MiB (peak ${f1(loadedMemory.peakMiB)} MiB)`)

    const probe = spawnSync(process.execPath, ['dist-bench/bench/state-probe.js', '--json', join(dir, 'big-state-json')], { cwd: ROOT, encoding: 'utf8' })
    if (probe.status !== 0) throw new Error(`state probe failed: ${probe.stderr}`)
    const p = JSON.parse(probe.stdout.trim().split('\n').at(-1) ?? '{}') as {
      loadMs: number
      rssBeforeMiB: number
      rssMiB: number
      heapUsedMiB: number
      decisions: number
      distinctBodies: number
      decision: { p50Us: number; p99Us: number }
      full: { p50Us: number; p99Us: number }
    }
    say(`  probe process (state-probe --json: MemoryView.upsert of the same objects from JSON list bodies, as list+watch delivers them): filled in ${f1(p.loadMs)} ms; RSS ${f1(p.rssMiB)} MiB (${f1(p.rssBeforeMiB)} MiB before filling), heap used ${f1(p.heapUsedMiB)} MiB`)
    say(`  in-process review() over the big state, ${p.decisions} calls over ${p.distinctBodies} distinct bodies: decision p50 ${f3(p.decision.p50Us / 1000)} ms, p99 ${f3(p.decision.p99Us / 1000)} ms; with JSON.parse + serialize p50 ${f3(p.full.p50Us / 1000)} ms, p99 ${f3(p.full.p99Us / 1000)} ms`)
    results.bigState = { counts: big.counts, yamlBytes: big.bytes, webhook: { readyMs: bigWebhook.readyMs, idleMemory, loadedMemory, phase: bigPhase, server: bigServer }, probe: p }

    // 3. validate ---------------------------------------------------------------------------
    say()
    say('3. upgrade-guard validate over 1,000 proposed objects (500 KCP minor upgrades + 500 MD edits, one file each) against the big state')
    const proposed = generateProposed(join(dir, 'proposed'), big.layout, 1000)
    const time = (args: string[]): { seconds: number; status: number | null; stdout: string } => {
      const t0 = performance.now()
      const r = spawnSync(process.execPath, ['dist/cli/main.js', 'validate', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 })
      return { seconds: (performance.now() - t0) / 1000, status: r.status, stdout: r.stdout }
    }
    const v = time(['-f', join(dir, 'proposed'), '--state', big.dir, '-o', 'json'])
    let summary = ''
    try {
      const report = JSON.parse(v.stdout) as { objects: { allowed: boolean }[] }
      summary = `${report.objects.length} objects judged, ${report.objects.filter((o) => !o.allowed).length} denied`
    } catch {
      summary = 'output not JSON'
    }
    const stateOnly = time(['-f', join(dir, 'proposed', readdirSync(join(dir, 'proposed')).sort()[0] ?? ''), '--state', big.dir, '-o', 'json'])
    const small = time(['-f', join(dir, 'proposed'), '--state', 'examples/state', '-o', 'json'])
    say(`  validate -f <${proposed.files} files> --state <big state>: ${f2(v.seconds)} s wall (exit ${v.status}; ${summary})`)
    say(`    of which loading the big state (same command with 1 proposed file): ${f2(stateOnly.seconds)} s`)
    say(`  validate -f <${proposed.files} files> --state examples/state: ${f2(small.seconds)} s wall (exit ${small.status})`)
    results.validate = { files: proposed.files, seconds: v.seconds, exit: v.status, summary, stateLoadSeconds: stateOnly.seconds, smallStateSeconds: small.seconds }

    // Summary ------------------------------------------------------------------------------
    const rss = loadedMemory.rssMiB
    const med = (pick: (r: (typeof rounds)[number]) => number): number => median(rounds.map(pick))
    const range = (pick: (r: (typeof rounds)[number]) => number, fmt: (n: number) => string): string =>
      rounds.length > 1 ? ` (${fmt(Math.min(...rounds.map(pick)))}–${fmt(Math.max(...rounds.map(pick)))})` : ''
    const errorsOf = (l: LoadResult): number => l.errors + l.non2xx + l.timeouts
    const of = rounds.length > 1 ? `median of ${rounds.length} rounds (range)` : '1 round'
    say()
    say(`summary (${of} where it says so)`)
    say('| measure | figure | target |')
    say('|---|---|---|')
    for (const who of ['baseline', 'webhook'] as const) {
      const rps = (r: (typeof rounds)[number]): number => r[who].load.requestsPerSecond
      say(`| ${who}: req/s, ${of} | ${f1(med(rps))}${range(rps, (n) => n.toFixed(0))} | |`)
      say(`| ${who}: latency p50 / p99 (client side, medians) | ${f3(med((r) => r[who].load.p50Ms))} / ${f3(med((r) => r[who].load.p99Ms))} ms | |`)
      say(`| ${who}: errors / non-2xx / timeouts (all rounds) | ${rounds.reduce((n, r) => n + errorsOf(r[who].load), 0)} | |`)
    }
    const ratioOf = (r: (typeof rounds)[number]): number => r.webhook.load.requestsPerSecond / r.baseline.load.requestsPerSecond
    say(`| ratio webhook / baseline req/s, ${of} | ${f3(ratio)}${range(ratioOf, f2)} | ≥ ${TARGETS.ratio}: ${mark(ratio >= TARGETS.ratio)} |`)
    say(`| server CPU per request, baseline / webhook (medians) | ${f1(med((r) => cpuPerRequestUs(r.baseline)))} / ${f1(med((r) => cpuPerRequestUs(r.webhook)))} µs | |`)
    say(`| server-side decision time p99 (/metrics), examples/state, worst round | ${f3(serverP99)} ms | ≤ ${TARGETS.serverP99Ms} ms: ${mark(serverP99 <= TARGETS.serverP99Ms)} |`)
    say(`| server-side decision time p99 (/metrics), big state | ${f3(bigServer.p99Ms)} ms | ≤ ${TARGETS.serverP99Ms} ms: ${mark(bigServer.p99Ms <= TARGETS.serverP99Ms)} |`)
    say(`| in-process review() over the big state, p50 / p99 (${p.decisions} calls) | ${f3(p.decision.p50Us / 1000)} / ${f3(p.decision.p99Us / 1000)} ms | |`)
    say(`| RSS: webhook, big state from YAML files, ready / after load (peak) | ${f1(idleMemory.rssMiB)} / ${f1(rss)} MiB (${f1(loadedMemory.peakMiB)} MiB) | ≤ ${TARGETS.rssMiB} MiB: ${mark(rss <= TARGETS.rssMiB)} |`)
    say(`| RSS: probe process, big state from JSON lists (${f1(p.rssBeforeMiB)} MiB before filling) | ${f1(p.rssMiB)} MiB | ≤ ${TARGETS.rssMiB} MiB: ${mark(p.rssMiB <= TARGETS.rssMiB)} |`)
    say(`| RSS after load, examples/state: webhook / bare baseline (medians) | ${f1(med((r) => r.webhookMemory.rssMiB))} / ${f1(med((r) => r.baselineMemory.rssMiB))} MiB | |`)
    say(`| webhook start-up to ready, big state (YAML) | ${f1(bigWebhook.readyMs / 1000)} s | |`)
    say(`| validate, 1,000 objects, big state (of which state load) | ${f2(v.seconds)} s (${f2(stateOnly.seconds)} s) | < ${TARGETS.validateSeconds} s: ${mark(v.seconds < TARGETS.validateSeconds)} |`)
    say(`| validate, 1,000 objects, examples/state | ${f2(small.seconds)} s | < ${TARGETS.validateSeconds} s: ${mark(small.seconds < TARGETS.validateSeconds)} |`)
    if (noisy.length > 0) say(`\nWARNING: other processes were busy during: ${noisy.join('; ')}. Throughput and latency figures of those phases are not comparable; rerun on a quiet machine.`)
    results.noisyPhases = noisy
    results.totalSeconds = (performance.now() - started) / 1000
    mkdirSync(dirname(flags.out), { recursive: true })
    writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`)
    say()
    say(`total ${f1((performance.now() - started) / 1000)} s; results JSON: ${flags.out}`)
  } finally {
    await stopAll()
    if (flags.keep) say(`kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

try {
  await main()
} catch (e) {
  process.stderr.write(`\nbench failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
}
