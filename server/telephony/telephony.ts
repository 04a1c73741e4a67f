import { AppError } from '../domain/errors.js';
import type { Logger } from '../infra/logger.js';
import {
  createAriClient,
  type AriClient,
  type AriClientOptions,
  type AriEventHandler,
  type ConnectionChange,
} from './ari-client.js';
import type { AriAnyEvent, AriEventOf, AriEventType } from './ari-types.js';

/** One Asterisk server the process drives. Each has its own credentials. */
export interface AsteriskServerConfig {
  name: string;
  baseUrl: string;
  username: string;
  password: string;
  /** Stasis application on this server; defaults to the hub's `app`. */
  app?: string;
}

export type ClientTuning = Pick<
  AriClientOptions,
  'requestTimeoutMs' | 'connectTimeoutMs' | 'pingIntervalMs' | 'backoff' | 'random' | 'handlerTimeoutMs' | 'subscribeAll' | 'connections'
>;

export interface TelephonyOptions extends ClientTuning {
  servers: readonly AsteriskServerConfig[];
  app: string;
  logger: Logger;
}

export interface TelephonyHealth {
  name: string;
  up: boolean;
  since: string;
  detail?: string;
}

export interface Telephony {
  /** Start connecting to every server; returns at once (a server that is down is retried). */
  start(): void;
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** One entry per server, for readiness: down servers carry the last error as `detail`. */
  health(): TelephonyHealth[];
  /** The client of one server; a `not_found` AppError for an unknown name. */
  server(name: string): AriClient;
  servers(): AriClient[];
  /** Handle an event type from every server (the handler gets the server's client). */
  on<K extends AriEventType>(type: K, handler: AriEventHandler<AriEventOf<K>>): () => void;
  onEvent(handler: AriEventHandler<AriAnyEvent>): () => void;
  /** `up` after a (re)connect (reconcile then), `down` on a loss, per server. */
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void;
  /** Resolves true once every server is up, false when `timeoutMs` passes first. */
  waitUntilUp(timeoutMs: number): Promise<boolean>;
}

/** The hub of ARI connections, keyed by server name. */
export function createTelephony(options: TelephonyOptions): Telephony {
  if (options.servers.length === 0) {
    throw new AppError('invalid', 'telephony.no_servers', 'configure at least one Asterisk server');
  }
  const clients = new Map<string, AriClient>();
  const log = options.logger.child({ component: 'telephony' });
  for (const server of options.servers) {
    if (clients.has(server.name)) {
      throw new AppError('invalid', 'telephony.duplicate_server', `two Asterisk servers are named ${server.name}`, {
        details: { server: server.name },
      });
    }
    clients.set(
      server.name,
      createAriClient({
        name: server.name,
        baseUrl: server.baseUrl,
        username: server.username,
        password: server.password,
        app: server.app ?? options.app,
        logger: log,
        ...tuning(options),
      }),
    );
  }
  const all = () => [...clients.values()];

  return {
    start() {
      for (const c of all()) c.start();
    },
    async stop(opts) {
      await Promise.all(all().map((c) => c.stop(opts)));
    },
    health() {
      return all().map((c) => {
        const s = c.state();
        const detail = s.up ? undefined : s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : 'not connected yet';
        return { name: s.name, up: s.up, since: s.since, ...(detail ? { detail } : {}) };
      });
    },
    server(name) {
      const c = clients.get(name);
      if (!c) {
        throw new AppError('not_found', 'telephony.unknown_server', `no Asterisk server is named ${name}`, {
          details: { server: name },
        });
      }
      return c;
    },
    servers: all,
    on(type, handler) {
      const offs = all().map((c) => c.on(type, handler));
      return () => offs.forEach((off) => off());
    },
    onEvent(handler) {
      const offs = all().map((c) => c.onEvent(handler));
      return () => offs.forEach((off) => off());
    },
    onConnectionChange(listener) {
      const offs = all().map((c) => c.onConnectionChange(listener));
      return () => offs.forEach((off) => off());
    },
    async waitUntilUp(timeoutMs) {
      const results = await Promise.all(all().map((c) => c.waitUntilUp(timeoutMs)));
      return results.every(Boolean);
    },
  };
}

function tuning(o: ClientTuning): ClientTuning {
  const t: ClientTuning = {};
  if (o.requestTimeoutMs !== undefined) t.requestTimeoutMs = o.requestTimeoutMs;
  if (o.connectTimeoutMs !== undefined) t.connectTimeoutMs = o.connectTimeoutMs;
  if (o.pingIntervalMs !== undefined) t.pingIntervalMs = o.pingIntervalMs;
  if (o.backoff !== undefined) t.backoff = o.backoff;
  if (o.random !== undefined) t.random = o.random;
  if (o.handlerTimeoutMs !== undefined) t.handlerTimeoutMs = o.handlerTimeoutMs;
  if (o.subscribeAll !== undefined) t.subscribeAll = o.subscribeAll;
  if (o.connections !== undefined) t.connections = o.connections;
  return t;
}
