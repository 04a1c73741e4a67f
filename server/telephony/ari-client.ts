import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import { AppError } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import {
  ariBadResponseError,
  ariStatusError,
  ariStoppedError,
  ariTimeoutError,
  ariTransportError,
  transportCode,
  type AriRequestContext,
} from './ari-errors.js';
import type {
  Application,
  AriAnyEvent,
  AriEventOf,
  AriEventType,
  AsteriskInfo,
  Bridge,
  Channel,
  ConfigTuple,
  LiveRecording,
  Playback,
  Variable,
} from './ari-types.js';
import { createBackoff, DEFAULT_BACKOFF, type BackoffPolicy, type RandomSource } from './backoff.js';
import { createKeyedSerialQueue } from './keyed-serial-queue.js';
import { eventOrderingKey } from './ordering-key.js';

/**
 * A client of one Asterisk server's ARI, written for the failure modes of a contact center:
 *
 * - every REST request has a time limit and fails with an {@link AppError} that carries the
 *   HTTP status (`not_found` for 404, `unavailable` when Asterisk cannot be reached,
 *   `timeout`, ...), never by hanging;
 * - the event websocket reconnects forever with capped exponential backoff and jitter, pings
 *   Asterisk and drops a socket that stops answering, and reports `connected` only once the
 *   Stasis application is registered again;
 * - events are handled in order per channel (bridge, playback target) and concurrently across
 *   channels; the socket's read path only parses and enqueues, so a slow handler never holds
 *   it up (Asterisk drops a websocket whose writes stall);
 * - Asterisk sends only the event types something here handles (the application's event
 *   filter, set on every connect and whenever the handlers change; all of them while a
 *   catch-all handler is registered). Asterisk publishes some 50 events per queued call, half of
 *   them variable changes (bridge peers, RTP statistics at hang-up) that nobody reads; each
 *   sent one is a JSON dump and a websocket write there and a parse here;
 * - credentials, pools and timers belong to the instance: several servers live in one process.
 */
export interface AriClientOptions {
  /** Our name for this Asterisk server (logs, health, errors). */
  name: string;
  /** HTTP origin of Asterisk's HTTP server, with an optional path prefix; ARI is under /ari. */
  baseUrl: string;
  username: string;
  password: string;
  /** The Stasis application this client registers and receives events for. */
  app: string;
  /** Receive events of every channel, bridge and endpoint, not only our application's. */
  subscribeAll?: boolean;
  logger: Logger;
  /** Time limit of a REST request, unless the request sets its own. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Time limit of the event websocket's connect and handshake. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** A websocket that misses a pong for this long is dropped and reconnected. Default 5000 ms. */
  pingIntervalMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Random source for the backoff jitter. Default Math.random. */
  random?: RandomSource;
  /** An event handler still running after this long is reported and its channel moves on. */
  handlerTimeoutMs?: number;
  /**
   * Concurrent HTTP connections of the REST pool. Default 64: Asterisk serves a connection's
   * requests one after another, and a request on a channel waits for that channel's thread, so
   * under load a small pool makes requests queue here until they time out (at 30 calls/s on two
   * cores, 16 connections left 118 of 600 calls unconnected; 64 left none).
   */
  connections?: number;
  /** Ask Asterisk for only the event types with a handler (see above). Default true. */
  filterEvents?: boolean;
}

export interface AriConnectionState {
  name: string;
  /** The event websocket is open and our application is registered. */
  up: boolean;
  /** When `up` last changed (ISO 8601). */
  since: string;
  lastError?: { code: string; message: string; at: string };
  /** Successful connections so far; above 1 means we reconnected. */
  connects: number;
  /** Events received over every connection so far. */
  events: number;
  /**
   * The event types Asterisk was last told to send on the current connection (sorted), or
   * undefined when it sends every type (a catch-all handler, filtering off, not set yet, or a
   * server that refused the filter).
   */
  eventFilter?: string[];
}

export interface ConnectionChange {
  server: string;
  up: boolean;
  /** True on `up` after an earlier connection: state may have changed while we were away. */
  reconnect: boolean;
  /** On `up`: how long the connection was down, if it had been up before. */
  downForMs?: number;
  error?: { code: string; message: string };
}

export type Query = Record<string, string | number | boolean | undefined | readonly string[]>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  timeoutMs?: number;
}

export type AriEventHandler<E> = (event: E, client: AriClient) => void | Promise<void>;

export interface AriClient {
  readonly name: string;
  readonly app: string;
  start(): void;
  stop(options?: { timeoutMs?: number }): Promise<void>;
  state(): AriConnectionState;
  /** Resolves true once connected, false when `timeoutMs` passes first. */
  waitUntilUp(timeoutMs: number): Promise<boolean>;
  request<T = unknown>(method: HttpMethod, path: string, options?: RequestOptions): Promise<T>;
  /** A GET whose answer is a file (a stored recording), as bytes; failures are typed like request's. */
  download(path: string, options?: { timeoutMs?: number }): Promise<{ contentType: string | undefined; body: Buffer }>;
  on<K extends AriEventType>(type: K, handler: AriEventHandler<AriEventOf<K>>): () => void;
  /** Every event, typed or not, in the same per-channel order. */
  onEvent(handler: AriEventHandler<AriAnyEvent>): () => void;
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void;
  readonly channels: ChannelsApi;
  readonly bridges: BridgesApi;
  readonly playbacks: PlaybacksApi;
  readonly recordings: RecordingsApi;
  readonly asterisk: AsteriskApi;
  readonly applications: ApplicationsApi;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface PlayOptions {
  /** One or more media URIs, e.g. `sound:hello-world`, `sound:http://host/x.wav`. */
  media: string | readonly string[];
  playbackId?: string;
  lang?: string;
  offsetms?: number;
  skipms?: number;
}

export interface RecordOptions {
  name: string;
  format: string;
  maxDurationSeconds?: number;
  maxSilenceSeconds?: number;
  ifExists?: 'fail' | 'overwrite' | 'append';
  beep?: boolean;
  terminateOn?: 'none' | 'any' | '*' | '#';
}

export interface OriginateOptions {
  endpoint: string;
  app?: string;
  appArgs?: string;
  channelId?: string;
  otherChannelId?: string;
  originator?: string;
  callerId?: string;
  timeout?: number;
  variables?: Record<string, string>;
  formats?: string;
}

export interface ChannelsApi {
  list(): Promise<Channel[]>;
  get(channelId: string): Promise<Channel>;
  answer(channelId: string): Promise<void>;
  ring(channelId: string): Promise<void>;
  hangup(channelId: string, reason?: string): Promise<void>;
  play(channelId: string, options: PlayOptions): Promise<Playback>;
  record(channelId: string, options: RecordOptions): Promise<LiveRecording>;
  /** Originate a channel into Stasis (or dialplan). */
  originate(options: OriginateOptions): Promise<Channel>;
  /** Create a channel without dialing it yet (`/channels/create`). */
  create(options: OriginateOptions & { app: string }): Promise<Channel>;
  dial(channelId: string, options?: { caller?: string; timeout?: number }): Promise<void>;
  continueInDialplan(channelId: string, options?: { context?: string; extension?: string; priority?: number; label?: string }): Promise<void>;
  setVariable(channelId: string, variable: string, value: string): Promise<void>;
  getVariable(channelId: string, variable: string): Promise<string>;
  startMoh(channelId: string, mohClass?: string): Promise<void>;
  stopMoh(channelId: string): Promise<void>;
}

export interface BridgesApi {
  list(): Promise<Bridge[]>;
  get(bridgeId: string): Promise<Bridge>;
  create(options?: { bridgeId?: string; type?: string; name?: string }): Promise<Bridge>;
  destroy(bridgeId: string): Promise<void>;
  addChannel(bridgeId: string, channelIds: string | readonly string[], options?: { role?: string }): Promise<void>;
  removeChannel(bridgeId: string, channelIds: string | readonly string[]): Promise<void>;
  play(bridgeId: string, options: PlayOptions): Promise<Playback>;
  record(bridgeId: string, options: RecordOptions): Promise<LiveRecording>;
  startMoh(bridgeId: string, mohClass?: string): Promise<void>;
  stopMoh(bridgeId: string): Promise<void>;
}

export interface PlaybacksApi {
  get(playbackId: string): Promise<Playback>;
  stop(playbackId: string): Promise<void>;
}

export interface RecordingsApi {
  getLive(name: string): Promise<LiveRecording>;
  stop(name: string): Promise<void>;
  cancel(name: string): Promise<void>;
  mute(name: string): Promise<void>;
  unmute(name: string): Promise<void>;
}

export interface AsteriskApi {
  info(): Promise<AsteriskInfo>;
  /** ARI push configuration, e.g. ('res_pjsip', 'endpoint', 'agent-17', [...]). */
  putObject(configClass: string, objectType: string, id: string, fields: readonly ConfigTuple[]): Promise<ConfigTuple[]>;
  deleteObject(configClass: string, objectType: string, id: string): Promise<void>;
}

export interface ApplicationsApi {
  get(app: string): Promise<Application>;
}

const enc = encodeURIComponent;

export function createAriClient(options: AriClientOptions): AriClient {
  const name = options.name;
  const app = options.app;
  const log = options.logger.child({ ari: name });
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
  const pingIntervalMs = options.pingIntervalMs ?? 5_000;
  const backoff = createBackoff({ ...DEFAULT_BACKOFF, ...options.backoff }, options.random ?? Math.random);

  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new AppError('invalid', 'ari.bad_url', `ARI base URL of ${name} must be http(s)`, { details: { server: name } });
  }
  const prefix = `${base.pathname.replace(/\/+$/, '')}/ari`;
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  // A connection pool of our own: nothing is shared with other servers or the process.
  const transport = base.protocol === 'https:' ? https : http;
  // Idle sockets are dropped after 10 s, before Asterisk's HTTP server closes them (its
  // session_keep_alive is 15 s), so a request rarely lands on a socket being closed.
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.connections ?? 64, timeout: 10_000 });

  let stopped = false;
  let started = false;
  let socket: WebSocket | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let replaced = false;
  // Whether the current socket answered the last ping.
  let alive = true;
  const status: AriConnectionState = { name, up: false, since: new Date().toISOString(), connects: 0, events: 0 };
  const filterEvents = options.filterEvents ?? true;
  // The filter Asterisk holds for the current connection (its key), and the one being sent.
  let filterSent: string | undefined;
  let filterSync: Promise<void> = Promise.resolve();
  let downSince = Date.now();
  const inflight = new Set<AbortController>();
  const typedHandlers = new Map<string, Set<AriEventHandler<never>>>();
  const anyHandlers = new Set<AriEventHandler<AriAnyEvent>>();
  const connectionListeners = new Set<(change: ConnectionChange) => void>();
  const upWaiters = new Set<() => void>();

  const queue = createKeyedSerialQueue({
    taskTimeoutMs: options.handlerTimeoutMs ?? 30_000,
    highWaterMark: 1_000,
    onError: (error, key) => log.error({ err: error, key }, 'ARI event handling failed'),
    onHighWater: (key, depth) => log.warn({ key, depth }, 'ARI events pile up behind a slow handler'),
  });

  const setError = (code: string, message: string) => {
    status.lastError = { code, message, at: new Date().toISOString() };
  };

  const notify = (change: ConnectionChange) => {
    for (const listener of [...connectionListeners]) {
      try {
        listener(change);
      } catch (error) {
        log.error({ err: error }, 'ARI connection listener failed');
      }
    }
  };

  // --- REST ----------------------------------------------------------------------------

  async function request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await exchange(method, path, opts, false)) as T;
  }

  /** A GET whose answer is a file (e.g. a stored recording), as bytes. */
  async function download(path: string, opts: { timeoutMs?: number } = {}): Promise<{ contentType: string | undefined; body: Buffer }> {
    return (await exchange('GET', path, opts, true)) as { contentType: string | undefined; body: Buffer };
  }

  async function exchange(method: HttpMethod, path: string, opts: RequestOptions, binary: boolean): Promise<unknown> {
    const ctx: AriRequestContext = { server: name, method, path };
    if (stopped) throw ariStoppedError(ctx);
    const timeoutMs = opts.timeoutMs ?? requestTimeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    inflight.add(controller);
    try {
      const headers: Record<string, string> = { authorization, accept: binary ? '*/*' : 'application/json' };
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body);
      }
      const fullPath = `${prefix}${path}${queryString(opts.query)}`;
      let response;
      try {
        response = await send(method, fullPath, headers, body, controller.signal);
      } catch (error) {
        // A reused keep-alive socket that Asterisk had just closed: a GET is safe to send
        // once more on a fresh socket. Anything else is reported as it is.
        if (method !== 'GET' || controller.signal.aborted || transportCode(error) !== 'ECONNRESET') throw error;
        response = await send(method, fullPath, headers, body, controller.signal);
      }
      const text = binary && response.statusCode >= 200 && response.statusCode < 300 ? '' : response.body.toString('utf8');
      const parsed = parseBody(text, response.contentType);
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw ariStatusError(ctx, response.statusCode, parsed.ok ? parsed.value : text);
      }
      if (binary) return { contentType: response.contentType, body: response.body };
      if (!parsed.ok) throw ariBadResponseError(ctx, response.statusCode, parsed.error);
      return parsed.value;
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (timedOut) throw ariTimeoutError(ctx, timeoutMs, error);
      if (stopped) throw ariStoppedError(ctx);
      throw ariTransportError(ctx, error);
    } finally {
      clearTimeout(timer);
      inflight.delete(controller);
    }
  }

  function send(
    method: HttpMethod,
    fullPath: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<{ statusCode: number; contentType: string | undefined; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = transport.request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port || undefined,
          method,
          path: fullPath,
          headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              statusCode: res.statusCode ?? 0,
              contentType: res.headers['content-type'],
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  // --- events websocket ----------------------------------------------------------------

  const wsUrl = (() => {
    const u = new URL(`${prefix}/events`, base.origin);
    u.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('app', app);
    u.searchParams.set('subscribeAll', options.subscribeAll ? 'true' : 'false');
    return u.toString();
  })();

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    let handshakeStatus: number | undefined;
    const ws = new WebSocket(wsUrl, {
      headers: { authorization },
      handshakeTimeout: connectTimeoutMs,
      perMessageDeflate: false,
    });
    socket = ws;
    ws.on('unexpected-response', (_req, res) => {
      handshakeStatus = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      if (ws !== socket) return;
      void confirmRegistered(ws);
    });
    ws.on('message', (data: WebSocket.RawData) => {
      if (ws !== socket) return;
      onMessage(ws, data);
    });
    ws.on('pong', () => {
      if (ws === socket) alive = true;
    });
    ws.on('error', (error: Error) => {
      if (ws !== socket) return;
      if (handshakeStatus !== undefined) {
        setError('ari.ws_rejected', `Asterisk ${name} refused the event websocket with HTTP ${handshakeStatus}`);
      } else {
        const code = transportCode(error) ?? 'unknown';
        setError(code === 'ECONNREFUSED' ? 'ari.unreachable' : 'ari.ws_error', `event websocket of ${name}: ${code}`);
      }
    });
    ws.on('close', (code: number) => {
      if (ws !== socket) return;
      onClose(code);
    });
  }

  async function confirmRegistered(ws: WebSocket): Promise<void> {
    // Asterisk registers the application with the websocket; check it before we say "up",
    // so that `connected` means calls to Stasis(app) will reach us.
    try {
      await request<Application>('GET', `/applications/${enc(app)}`, { timeoutMs: Math.min(requestTimeoutMs, 3_000) });
    } catch (error) {
      if (ws !== socket) return;
      const e = error instanceof AppError ? error : undefined;
      setError(e?.code ?? 'ari.unknown', `application ${app} not registered on ${name} after connecting`);
      ws.terminate();
      return;
    }
    if (ws !== socket || stopped) return;
    // Before `up`: the handlers registered by then (all of them, in practice) get their
    // events from the first call on. A failure only costs unfiltered events.
    filterSent = undefined;
    await syncEventFilter(ws);
    if (ws !== socket || stopped) return;
    const wasConnected = status.connects > 0;
    const downForMs = Date.now() - downSince;
    status.up = true;
    status.since = new Date().toISOString();
    status.connects += 1;
    backoff.reset();
    alive = true;
    pingTimer = setInterval(() => {
      if (ws !== socket || ws.readyState !== WebSocket.OPEN) return;
      if (!alive) {
        log.warn({ pingIntervalMs }, 'ARI websocket missed a pong; dropping it');
        setError('ari.ws_dead', `event websocket of ${name} stopped answering pings`);
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, pingIntervalMs);
    log.info({ reconnect: wasConnected, downForMs: wasConnected ? downForMs : undefined }, 'ARI connected');
    for (const w of [...upWaiters]) w();
    notify({ server: name, up: true, reconnect: wasConnected, ...(wasConnected ? { downForMs } : {}) });
  }

  function onMessage(ws: WebSocket, data: WebSocket.RawData): void {
    let event: AriAnyEvent;
    try {
      event = JSON.parse(rawToString(data)) as AriAnyEvent;
    } catch (error) {
      log.warn({ err: error }, 'ARI sent an unreadable event');
      return;
    }
    if (event === null || typeof event !== 'object' || typeof event.type !== 'string') return;
    status.events += 1;
    if (event.type === 'ApplicationReplaced') {
      // Another connection took our application name; fighting back would make two
      // processes steal it from each other. Stay down and say why.
      replaced = true;
      setError('ari.app_replaced', `application ${app} on ${name} was taken over by another connection`);
      log.error({ app }, 'ARI application replaced by another connection; not reconnecting');
      ws.close(1000);
    }
    queue.push(eventOrderingKey(event), () => dispatch(event));
  }

  async function dispatch(event: AriAnyEvent): Promise<void> {
    const typed = typedHandlers.get(event.type);
    const handlers: Array<AriEventHandler<AriAnyEvent>> = [
      ...((typed ? [...typed] : []) as Array<AriEventHandler<AriAnyEvent>>),
      ...anyHandlers,
    ];
    for (const handler of handlers) {
      try {
        await handler(event, client);
      } catch (error) {
        const channel = (event as { channel?: { id?: string } }).channel;
        log.error({ err: error, eventType: event.type, channelId: channel?.id }, 'ARI event handler failed');
      }
    }
  }

  // --- event filter --------------------------------------------------------------------

  /** The types to ask for, sorted, or undefined for all of them. */
  function wantedTypes(): string[] | undefined {
    if (!filterEvents || anyHandlers.size > 0) return undefined;
    const types = new Set<string>(['ApplicationReplaced']);
    for (const [type, set] of typedHandlers) if (set.size > 0) types.add(type);
    return [...types].sort();
  }

  /**
   * Brings Asterisk's event filter of our application in line with the handlers, one update at
   * a time (the last one wins). Resolves when done; never rejects.
   */
  function syncEventFilter(ws: WebSocket | undefined = socket): Promise<void> {
    filterSync = filterSync.then(async () => {
      if (!ws || ws !== socket || stopped) return;
      const wanted = wantedTypes();
      const key = wanted ? wanted.join(',') : '*';
      if (key === filterSent) return;
      try {
        // Empty lists: every event (how Asterisk reads an empty allowed list).
        await request('PUT', `/applications/${enc(app)}/eventFilter`, {
          body: { allowed: (wanted ?? []).map((type) => ({ type })), disallowed: [] },
          timeoutMs: Math.min(requestTimeoutMs, 3_000),
        });
        if (ws !== socket) return;
        filterSent = key;
        if (wanted) status.eventFilter = wanted;
        else delete status.eventFilter;
      } catch (error) {
        if (ws !== socket) return;
        // Asterisk keeps sending what it sent before: all types on a fresh registration.
        log.warn({ err: error, types: wanted }, 'could not set the application event filter; receiving every event');
      }
    });
    return filterSync;
  }

  /** Handlers changed: tell a connected Asterisk (on the next tick, once for a burst of changes). */
  let filterQueued = false;
  function handlersChanged(): void {
    if (!filterEvents || filterQueued || !socket) return;
    filterQueued = true;
    queueMicrotask(() => {
      filterQueued = false;
      void syncEventFilter();
    });
  }

  function onClose(code: number): void {
    socket = undefined;
    filterSent = undefined;
    delete status.eventFilter;
    if (pingTimer) clearInterval(pingTimer);
    pingTimer = undefined;
    if (status.up) {
      status.up = false;
      status.since = new Date().toISOString();
      downSince = Date.now();
      if (!status.lastError || Date.parse(status.lastError.at) < Date.now() - 1_000) {
        setError('ari.ws_closed', `event websocket of ${name} closed (code ${code})`);
      }
      log.warn({ code, error: status.lastError?.code }, 'ARI disconnected');
      notify({
        server: name,
        up: false,
        reconnect: false,
        ...(status.lastError ? { error: { code: status.lastError.code, message: status.lastError.message } } : {}),
      });
    }
    if (stopped || replaced) return;
    const delay = backoff.next();
    log.debug({ delay, attempt: backoff.attempts }, 'ARI reconnect scheduled');
    reconnectTimer = setTimeout(connect, delay);
  }

  // --- lifecycle -----------------------------------------------------------------------

  function start(): void {
    if (started || stopped) return;
    started = true;
    downSince = Date.now();
    connect();
  }

  async function stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (stopped) return;
    stopped = true;
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    if (pingTimer) clearInterval(pingTimer);
    reconnectTimer = undefined;
    pingTimer = undefined;
    const ws = socket;
    socket = undefined;
    if (status.up) {
      status.up = false;
      status.since = new Date().toISOString();
    }
    for (const w of [...upWaiters]) w();
    if (ws) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, Math.min(timeoutMs, 2_000));
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
      });
    }
    for (const c of inflight) c.abort();
    if (!(await queue.whenIdle(timeoutMs))) {
      log.warn({ pending: queue.pending() }, 'ARI event handlers still running at stop');
    }
    agent.destroy();
  }

  function waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (status.up) return Promise.resolve(true);
    if (stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        upWaiters.delete(done);
        resolve(status.up);
      };
      const timer = setTimeout(done, timeoutMs);
      upWaiters.add(done);
    });
  }

  // --- typed helpers -------------------------------------------------------------------

  const ids = (v: string | readonly string[]) => (typeof v === 'string' ? v : v.join(','));
  const playQuery = (o: PlayOptions): Query => ({
    media: typeof o.media === 'string' ? o.media : o.media.join(','),
    lang: o.lang,
    offsetms: o.offsetms,
    skipms: o.skipms,
    playbackId: o.playbackId,
  });
  const recordQuery = (o: RecordOptions): Query => ({
    name: o.name,
    format: o.format,
    maxDurationSeconds: o.maxDurationSeconds,
    maxSilenceSeconds: o.maxSilenceSeconds,
    ifExists: o.ifExists,
    beep: o.beep,
    terminateOn: o.terminateOn,
  });
  const originateQuery = (o: OriginateOptions): Query => ({
    endpoint: o.endpoint,
    app: o.app,
    appArgs: o.appArgs,
    channelId: o.channelId,
    otherChannelId: o.otherChannelId,
    originator: o.originator,
    callerId: o.callerId,
    timeout: o.timeout,
    formats: o.formats,
  });

  const channels: ChannelsApi = {
    list: () => request('GET', '/channels'),
    get: (id) => request('GET', `/channels/${enc(id)}`),
    answer: (id) => request('POST', `/channels/${enc(id)}/answer`),
    ring: (id) => request('POST', `/channels/${enc(id)}/ring`),
    hangup: (id, reason) => request('DELETE', `/channels/${enc(id)}`, { query: { reason } }),
    play: (id, o) => request('POST', `/channels/${enc(id)}/play`, { query: playQuery(o) }),
    record: (id, o) => request('POST', `/channels/${enc(id)}/record`, { query: recordQuery(o) }),
    originate: (o) =>
      request('POST', '/channels', {
        query: originateQuery(o),
        body: o.variables ? { variables: o.variables } : undefined,
      }),
    create: (o) =>
      request('POST', '/channels/create', {
        query: originateQuery(o),
        body: o.variables ? { variables: o.variables } : undefined,
      }),
    dial: (id, o = {}) => request('POST', `/channels/${enc(id)}/dial`, { query: { caller: o.caller, timeout: o.timeout } }),
    continueInDialplan: (id, o = {}) =>
      request('POST', `/channels/${enc(id)}/continue`, {
        query: { context: o.context, extension: o.extension, priority: o.priority, label: o.label },
      }),
    setVariable: (id, variable, value) => request('POST', `/channels/${enc(id)}/variable`, { query: { variable, value } }),
    getVariable: async (id, variable) =>
      (await request<Variable>('GET', `/channels/${enc(id)}/variable`, { query: { variable } })).value,
    startMoh: (id, mohClass) => request('POST', `/channels/${enc(id)}/moh`, { query: { mohClass } }),
    stopMoh: (id) => request('DELETE', `/channels/${enc(id)}/moh`),
  };

  const bridges: BridgesApi = {
    list: () => request('GET', '/bridges'),
    get: (id) => request('GET', `/bridges/${enc(id)}`),
    create: (o = {}) => request('POST', '/bridges', { query: { bridgeId: o.bridgeId, type: o.type, name: o.name } }),
    destroy: (id) => request('DELETE', `/bridges/${enc(id)}`),
    addChannel: (id, channelIds, o = {}) =>
      request('POST', `/bridges/${enc(id)}/addChannel`, { query: { channel: ids(channelIds), role: o.role } }),
    removeChannel: (id, channelIds) => request('POST', `/bridges/${enc(id)}/removeChannel`, { query: { channel: ids(channelIds) } }),
    play: (id, o) => request('POST', `/bridges/${enc(id)}/play`, { query: playQuery(o) }),
    record: (id, o) => request('POST', `/bridges/${enc(id)}/record`, { query: recordQuery(o) }),
    startMoh: (id, mohClass) => request('POST', `/bridges/${enc(id)}/moh`, { query: { mohClass } }),
    stopMoh: (id) => request('DELETE', `/bridges/${enc(id)}/moh`),
  };

  const playbacks: PlaybacksApi = {
    get: (id) => request('GET', `/playbacks/${enc(id)}`),
    stop: (id) => request('DELETE', `/playbacks/${enc(id)}`),
  };

  const recordings: RecordingsApi = {
    getLive: (n) => request('GET', `/recordings/live/${enc(n)}`),
    stop: (n) => request('POST', `/recordings/live/${enc(n)}/stop`),
    cancel: (n) => request('DELETE', `/recordings/live/${enc(n)}`),
    mute: (n) => request('POST', `/recordings/live/${enc(n)}/mute`),
    unmute: (n) => request('DELETE', `/recordings/live/${enc(n)}/mute`),
  };

  const asterisk: AsteriskApi = {
    info: () => request('GET', '/asterisk/info'),
    putObject: (cls, type, id, fields) =>
      request('PUT', `/asterisk/config/dynamic/${enc(cls)}/${enc(type)}/${enc(id)}`, { body: { fields } }),
    deleteObject: (cls, type, id) => request('DELETE', `/asterisk/config/dynamic/${enc(cls)}/${enc(type)}/${enc(id)}`),
  };

  const applications: ApplicationsApi = {
    get: (a) => request('GET', `/applications/${enc(a)}`),
  };

  const client: AriClient = {
    name,
    app,
    start,
    stop,
    state: () => ({
      ...status,
      ...(status.lastError ? { lastError: { ...status.lastError } } : {}),
      ...(status.eventFilter ? { eventFilter: [...status.eventFilter] } : {}),
    }),
    waitUntilUp,
    request,
    download,
    on(type, handler) {
      let set = typedHandlers.get(type);
      if (!set) {
        set = new Set();
        typedHandlers.set(type, set);
      }
      const h = handler as AriEventHandler<never>;
      set.add(h);
      handlersChanged();
      return () => {
        set.delete(h);
        handlersChanged();
      };
    },
    onEvent(handler) {
      anyHandlers.add(handler);
      handlersChanged();
      return () => {
        anyHandlers.delete(handler);
        handlersChanged();
      };
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => {
        connectionListeners.delete(listener);
      };
    },
    channels,
    bridges,
    playbacks,
    recordings,
    asterisk,
    applications,
  };
  return client;
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: unknown };

function parseBody(text: string, contentType: string | undefined): Parsed {
  if (text.length === 0) return { ok: true, value: undefined };
  if (contentType && !contentType.includes('json')) return { ok: true, value: text };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error };
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
