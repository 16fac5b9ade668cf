/**
 * @module test/state/fake-apiserver
 * A small local fake of the Kubernetes list/watch HTTP API, enough for the informer view:
 * discovery (/api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>), JSON lists with
 * metadata.resourceVersion, field selectors on metadata.name / metadata.namespace, and chunked
 * watch streams of ADDED / MODIFIED / DELETED / BOOKMARK lines replayed from a resourceVersion.
 * A test can change objects, expire history (410 Gone as an ERROR event or as HTTP 410), end or
 * drop watch connections, and stop / restart the server on the same port. Plain HTTP on
 * 127.0.0.1; every request is recorded. Faults for the freshness tests: `resetStore()` (an etcd
 * restore: different objects, new resourceVersions, 410 on every old one) and `holdEvents()`
 * (watch events of one resource held back, as a slow watch; lists still see the truth).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'

interface ResourceDef {
  readonly group: string
  readonly resource: string
  readonly kind: string
}

export const FAKE_RESOURCES: readonly ResourceDef[] = [
  { group: '', resource: 'configmaps', kind: 'ConfigMap' },
  { group: 'cluster.x-k8s.io', resource: 'clusters', kind: 'Cluster' },
  { group: 'cluster.x-k8s.io', resource: 'machinedeployments', kind: 'MachineDeployment' },
  { group: 'controlplane.cluster.x-k8s.io', resource: 'kubeadmcontrolplanes', kind: 'KubeadmControlPlane' },
  // Lifecycle kinds (issue 13). The provider groups are served only when a test asks for them.
  { group: 'cluster.x-k8s.io', resource: 'machines', kind: 'Machine' },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'baremetalmachines', kind: 'BaremetalMachine' },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'baremetalmachinetemplates', kind: 'BaremetalMachineTemplate' },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'machineinventorypools', kind: 'MachineInventoryPool' },
  { group: 'elemental.cattle.io', resource: 'machineinventories', kind: 'MachineInventory' },
  { group: 'apps', resource: 'deployments', kind: 'Deployment' },
]

export type Obj = Record<string, unknown> & { metadata: Record<string, unknown> }

export interface RecordedRequest {
  readonly method: string
  /** Path and raw query string exactly as sent. */
  readonly url: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly isWatch: boolean
  readonly authorization: string | undefined
}

export interface FakeOptions {
  /** Served versions per CAPI group; default v1beta1 only. */
  readonly servedVersions?: Readonly<Record<string, readonly string[]>>
  /** The token the fake expects as `Authorization: Bearer …` (401 otherwise). */
  readonly token?: string
  /** Resources left out of discovery and answered 404 (a provider CRD not installed). */
  readonly absentResources?: readonly string[]
  /** gitVersion of GET /version; default v1.35.6. */
  readonly gitVersion?: string
}

interface Watcher {
  readonly res: ServerResponse
  readonly resource: string
  readonly namespace: string | undefined
  readonly selector: Selector
  readonly isBookmarking: boolean
}

interface Selector {
  readonly name?: string
  readonly namespace?: string
}

interface LoggedEvent {
  readonly rv: number
  readonly resource: string
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'
  readonly object: Obj
}

const clone = <T>(v: T): T => structuredClone(v)

const status = (code: number, reason: string, message: string): Obj => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message })

export class FakeApiServer {
  readonly requests: RecordedRequest[] = []
  readonly token: string
  private readonly served: Readonly<Record<string, readonly string[]>>
  private readonly absent: ReadonlySet<string>
  /** What GET /version answers; undefined: HTTP 500 (a failing /version). */
  gitVersion: string | undefined
  private readonly objects = new Map<string, Map<string, Obj>>()
  private readonly log: LoggedEvent[] = []
  private readonly watchers = new Set<Watcher>()
  private readonly sockets = new Set<Socket>()
  /** While true, list requests get no answer (a hung API server); closedStalls counts the ones the client gave up. */
  stallLists = false
  /** Resources whose lists answer 404 although discovery lists them (a CRD removed in between). */
  readonly listNotFound = new Set<string>()
  closedStalls = 0
  private rv = 100
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedBelow = 0
  private goneMode: 'event' | 'http' = 'event'
  private server: Server | undefined
  private portNumber = 0
  /** Resources whose watch events are held back (delivered by releaseEvents). */
  private readonly held = new Map<string, LoggedEvent[]>()

  private constructor(options: FakeOptions) {
    this.served = { 'cluster.x-k8s.io': ['v1beta1'], 'controlplane.cluster.x-k8s.io': ['v1beta1'], apps: ['v1'], ...options.servedVersions }
    this.absent = new Set(options.absentResources ?? [])
    this.gitVersion = options.gitVersion ?? 'v1.35.6'
    this.token = options.token ?? 'fake-token-do-not-log'
    for (const r of FAKE_RESOURCES) this.objects.set(r.resource, new Map())
  }

  static async start(options: FakeOptions = {}): Promise<FakeApiServer> {
    const fake = new FakeApiServer(options)
    await fake.listen(0)
    return fake
  }

  get port(): number {
    return this.portNumber
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.rv)
  }

  get isRunning(): boolean {
    return this.server !== undefined
  }

  /** A KubeConfig for this server (plain HTTP needs skipTLSVerify in client-node). */
  /** The same, as a kubeconfig file's text (for the CLI and `--kubeconfig` tests). */
  kubeconfigYaml(): string {
    return `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: fake-user\n  user:\n    token: ${this.token}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake-user\ncurrent-context: fake\n`
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake-user', token: this.token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake-user' }],
      currentContext: 'fake',
    })
    return kc
  }

  // --- state changes -------------------------------------------------------------------------

  /** Creates or replaces an object (by apiVersion/kind, namespace, name); emits ADDED or MODIFIED. */
  apply(object: Record<string, unknown>): Obj {
    const resource = resourceOfKind(String(object.kind))
    const obj = clone(object) as Obj
    obj.metadata = { ...(obj.metadata ?? {}) }
    const k = objKey(obj)
    const store = this.store(resource)
    const type = store.has(k) ? 'MODIFIED' : 'ADDED'
    obj.metadata.resourceVersion = String(++this.rv)
    store.set(k, obj)
    this.emit({ rv: this.rv, resource, type, object: obj })
    return clone(obj)
  }

  /** Deletes an object; emits DELETED. */
  delete(kind: string, namespace: string, name: string): void {
    const resource = resourceOfKind(kind)
    const store = this.store(resource)
    const existing = store.get(`${namespace}/${name}`)
    if (existing === undefined) return
    store.delete(`${namespace}/${name}`)
    const obj = clone(existing)
    obj.metadata.resourceVersion = String(++this.rv)
    this.emit({ rv: this.rv, resource, type: 'DELETED', object: obj })
  }

  /** Changes objects WITHOUT telling open watches (as if the events were lost); only a relist shows it. */
  applySilently(object: Record<string, unknown>): void {
    const resource = resourceOfKind(String(object.kind))
    const obj = clone(object) as Obj
    obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(++this.rv) }
    this.store(resource).set(objKey(obj), obj)
  }

  deleteSilently(kind: string, namespace: string, name: string): void {
    this.store(resourceOfKind(kind)).delete(`${namespace}/${name}`)
    ++this.rv
  }

  /**
   * An etcd restore under the same API server: every object replaced by `objects`, history
   * gone, resourceVersions moved to a new range; any watch or list from an old resourceVersion
   * gets 410 Gone. Open watches are not told (call it while stopped, or follow with expireHistory).
   */
  resetStore(objects: readonly Record<string, unknown>[]): void {
    for (const store of this.objects.values()) store.clear()
    this.log.length = 0
    this.rv = Math.max(this.rv, 100) * 10
    this.compactedBelow = this.rv
    this.goneMode = 'http'
    for (const o of objects) {
      const obj = clone(o) as Obj
      obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(++this.rv) }
      this.store(resourceOfKind(String(obj.kind))).set(objKey(obj), obj)
    }
  }

  /** Holds back watch events of one resource (lists and GETs still see the change at once). */
  holdEvents(resource: string): void {
    if (!this.held.has(resource)) this.held.set(resource, [])
  }

  /** Delivers the held-back events, in order, and stops holding. */
  releaseEvents(resource: string): void {
    const events = this.held.get(resource) ?? []
    this.held.delete(resource)
    for (const e of events) for (const w of this.watchers) if (this.matches(w, e)) writeEvent(w.res, { type: e.type, object: e.object })
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) if (w.isBookmarking) writeEvent(w.res, { type: 'BOOKMARK', object: this.bookmarkObject(w.resource) })
  }

  /**
   * Forgets history: every open watch gets a 410 (an ERROR event, then the stream ends; or, with
   * `http`, the stream just ends and the client's re-watch from its old resourceVersion gets
   * HTTP 410). The client must relist.
   */
  expireHistory(mode: 'event' | 'http' = 'event'): void {
    this.goneMode = mode
    this.compactedBelow = this.rv
    for (const w of [...this.watchers]) {
      if (mode === 'event') writeEvent(w.res, { type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })
      this.endWatch(w)
    }
  }

  /** Ends every open watch cleanly (as the API server does when a watch times out). */
  endWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w)
  }

  /** Destroys every open connection (a network failure / API server crash). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    this.watchers.clear()
  }

  /** Stops listening and drops every connection; objects and history are kept. */
  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    this.dropConnections()
    server.closeAllConnections()
    await closed
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    if (this.server !== undefined) return
    await this.listen(this.portNumber)
  }

  async close(): Promise<void> {
    await this.stop()
  }

  // --- inspection ----------------------------------------------------------------------------

  lists(resource: string): RecordedRequest[] {
    return this.requests.filter((r) => !r.isWatch && r.path.endsWith(`/${resource}`))
  }

  watches(resource: string): RecordedRequest[] {
    return this.requests.filter((r) => r.isWatch && r.path.endsWith(`/${resource}`))
  }

  openWatches(resource?: string): number {
    return [...this.watchers].filter((w) => resource === undefined || w.resource === resource).length
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res))
    server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    this.portNumber = typeof address === 'object' && address !== null ? address.port : port
    this.server = server
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake')
    const query = Object.fromEntries(url.searchParams.entries())
    const isWatch = query.watch === 'true' || query.watch === '1'
    this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', path: url.pathname, query, isWatch, authorization: req.headers.authorization })
    if (req.headers.authorization !== `Bearer ${this.token}`) return sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'))
    if (req.method !== 'GET') return sendJson(res, 405, status(405, 'MethodNotAllowed', 'the fake only serves GET'))
    const parts = url.pathname.split('/').filter((p) => p !== '')
    if (url.pathname === '/version') {
      return this.gitVersion === undefined ? sendJson(res, 500, status(500, 'InternalError', 'version unavailable')) : sendJson(res, 200, { major: '1', minor: '35', gitVersion: this.gitVersion, platform: 'linux/amd64' })
    }
    if (url.pathname === '/api') return sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] })
    if (url.pathname === '/apis') return sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: Object.keys(this.served).filter((g) => this.isServed(g)).map((g) => this.group(g)) })
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = parts[1] ?? ''
      return !this.isServed(g) ? sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource')) : sendJson(res, 200, this.group(g))
    }
    const route = this.route(parts)
    if (route === undefined) return sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
    if (route.type === 'resources') return sendJson(res, 200, route.body)
    let selector: Selector
    try {
      selector = parseSelector(query.fieldSelector)
    } catch (e) {
      return sendJson(res, 400, status(400, 'BadRequest', (e as Error).message))
    }
    if (isWatch) return this.watch(res, route.resource, route.namespace, selector, query)
    if (this.listNotFound.has(route.resource)) return sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'))
    if (this.stallLists) {
      res.on('close', () => this.closedStalls++)
      return
    }
    const items = this.select(route.resource, route.namespace, selector)
    const def = defOf(route.resource)
    return sendJson(res, 200, {
      kind: `${def.kind}List`,
      apiVersion: route.apiVersion,
      metadata: { resourceVersion: String(this.rv) },
      // A typed core list leaves apiVersion/kind off its items, as the real API server does.
      items: items.map((o) => (def.group === '' ? withoutTypeMeta(o) : o)),
    })
  }

  private route(parts: readonly string[]):
    | { type: 'resources'; body: unknown }
    | { type: 'collection'; resource: string; namespace: string | undefined; apiVersion: string }
    | undefined {
    let group: string
    let version: string
    let rest: readonly string[]
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = ''
      version = 'v1'
      rest = parts.slice(2)
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1] ?? ''
      version = parts[2] ?? ''
      rest = parts.slice(3)
      if (!(this.served[group] ?? []).includes(version)) return undefined
    } else {
      return undefined
    }
    const defs = FAKE_RESOURCES.filter((r) => r.group === group && !this.absent.has(r.resource))
    const apiVersion = group === '' ? 'v1' : `${group}/${version}`
    if (rest.length === 0) {
      return { type: 'resources', body: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersion, resources: defs.map((d) => ({ name: d.resource, singularName: '', namespaced: true, kind: d.kind, verbs: ['get', 'list', 'watch'] })) } }
    }
    let namespace: string | undefined
    if (rest[0] === 'namespaces' && rest.length === 3) {
      namespace = rest[1]
      rest = rest.slice(2)
    }
    const def = rest.length === 1 ? defs.find((d) => d.resource === rest[0]) : undefined
    return def === undefined ? undefined : { type: 'collection', resource: def.resource, namespace, apiVersion }
  }

  private watch(res: ServerResponse, resource: string, namespace: string | undefined, selector: Selector, query: Readonly<Record<string, string>>): void {
    const from = query.resourceVersion ?? ''
    const fromRv = from === '' || from === '0' ? undefined : Number(from)
    if (fromRv !== undefined && fromRv < this.compactedBelow) {
      const gone = status(410, 'Expired', `too old resource version: ${fromRv} (${this.compactedBelow})`)
      if (this.goneMode === 'http') return sendJson(res, 410, gone)
      res.writeHead(200, { 'Content-Type': 'application/json' })
      writeEvent(res, { type: 'ERROR', object: gone })
      res.end()
      return
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })
    res.flushHeaders()
    const watcher: Watcher = { res, resource, namespace, selector, isBookmarking: query.allowWatchBookmarks === 'true' }
    if (fromRv === undefined) {
      for (const o of this.select(resource, namespace, selector)) writeEvent(res, { type: 'ADDED', object: o })
    } else {
      for (const e of this.log) if (e.rv > fromRv && this.matches(watcher, e)) writeEvent(res, { type: e.type, object: e.object })
    }
    this.watchers.add(watcher)
    res.on('close', () => this.watchers.delete(watcher))
  }

  private endWatch(w: Watcher): void {
    this.watchers.delete(w)
    w.res.end()
  }

  private emit(event: LoggedEvent): void {
    this.log.push(event)
    const held = this.held.get(event.resource)
    if (held !== undefined) {
      held.push(event)
      return
    }
    for (const w of this.watchers) if (this.matches(w, event)) writeEvent(w.res, { type: event.type, object: event.object })
  }

  private matches(w: Watcher, e: LoggedEvent): boolean {
    if (w.resource !== e.resource) return false
    const ns = String(e.object.metadata.namespace ?? '')
    const name = String(e.object.metadata.name ?? '')
    return (w.namespace === undefined || w.namespace === ns) && (w.selector.namespace === undefined || w.selector.namespace === ns) && (w.selector.name === undefined || w.selector.name === name)
  }

  private select(resource: string, namespace: string | undefined, selector: Selector): Obj[] {
    return [...this.store(resource).values()]
      .filter((o) => {
        const ns = String(o.metadata.namespace ?? '')
        const name = String(o.metadata.name ?? '')
        return (namespace === undefined || namespace === ns) && (selector.namespace === undefined || selector.namespace === ns) && (selector.name === undefined || selector.name === name)
      })
      .map(clone)
  }

  private store(resource: string): Map<string, Obj> {
    const s = this.objects.get(resource)
    if (s === undefined) throw new Error(`fake: unknown resource ${resource}`)
    return s
  }

  private isServed(group: string): boolean {
    return (this.served[group] ?? []).length > 0
  }

  private group(name: string): unknown {
    const versions = (this.served[name] ?? []).map((v) => ({ groupVersion: `${name}/${v}`, version: v }))
    return { kind: 'APIGroup', apiVersion: 'v1', name, versions, preferredVersion: versions[versions.length - 1] }
  }

  private bookmarkObject(resource: string): unknown {
    const def = defOf(resource)
    return { kind: def.kind, apiVersion: def.group === '' ? 'v1' : `${def.group}/${(this.served[def.group] ?? ['v1beta1'])[0] ?? 'v1beta1'}`, metadata: { resourceVersion: String(this.rv) } }
  }
}

function defOf(resource: string): ResourceDef {
  const def = FAKE_RESOURCES.find((r) => r.resource === resource)
  if (def === undefined) throw new Error(`fake: unknown resource ${resource}`)
  return def
}

function resourceOfKind(kind: string): string {
  const def = FAKE_RESOURCES.find((r) => r.kind === kind)
  if (def === undefined) throw new Error(`fake: unknown kind ${kind}`)
  return def.resource
}

function objKey(obj: Obj): string {
  return `${String(obj.metadata.namespace ?? '')}/${String(obj.metadata.name ?? '')}`
}

function withoutTypeMeta(obj: Obj): Obj {
  const { apiVersion: _a, kind: _k, ...rest } = obj
  return rest as Obj
}

function parseSelector(raw: string | undefined): Selector {
  const out: { name?: string; namespace?: string } = {}
  if (raw === undefined || raw === '') return out
  for (const term of raw.split(',')) {
    const m = /^(metadata\.name|metadata\.namespace)==?(.*)$/.exec(term)
    if (m === null) throw new Error(`field selector "${term}" is not supported`)
    if (m[1] === 'metadata.name') out.name = m[2]
    else out.namespace = m[2]
  }
  return out
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`)
}
