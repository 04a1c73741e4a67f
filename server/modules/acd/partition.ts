import { createRouterConfig, type RouterConfig, type RouterConfigInput } from '../../acd/config.js';
import type { RouterDecision } from '../../acd/decisions.js';
import { createRouterState, route } from '../../acd/router.js';
import { exportSnapshot, restoreRouterState, type RouterSnapshot } from '../../acd/snapshot.js';
import type { RouterState } from '../../acd/state.js';
import type { Queue } from '../../domain/queue.js';
import type { InputEntry } from './store.js';

/**
 * The router of one partition as a value: its configuration and state. The
 * live runner and `ipcc route replay` apply input entries through the same
 * function, so a replay under the recorded configuration reproduces exactly
 * what the live router decided.
 */
export interface PartitionRouter {
  config: RouterConfig;
  queues: readonly Queue[];
  state: RouterState;
  /** Replaces recorded configuration entries (what-if replays). */
  override?: Omit<RouterConfigInput, 'queues'> & { queues?: readonly Queue[] };
}

function configFor(p: Pick<PartitionRouter, 'override'>, version: string, queues: readonly Queue[]): RouterConfig {
  const o = p.override;
  return createRouterConfig({ ...(o ?? {}), version: o ? `override(${version})` : version, queues: o?.queues ?? queues });
}

export function newPartitionRouter(at: number, override?: PartitionRouter['override']): PartitionRouter {
  const p: Pick<PartitionRouter, 'override'> = override ? { override } : {};
  const config = configFor(p, '0', []);
  return { ...p, config, queues: [], state: createRouterState(config, at) };
}

export function restorePartitionRouter(configVersion: string, queues: readonly Queue[], snapshot: RouterSnapshot): PartitionRouter {
  const config = createRouterConfig({ version: configVersion, queues });
  return { config, queues, state: restoreRouterState(config, snapshot) };
}

/** The configuration version a router's version names (`override(N)` in what-if replays), or undefined. */
function versionNumber(version: string): number | undefined {
  const m = /^(?:override\()?(\d+)\)?$/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/**
 * Applies one input entry; configuration entries rebuild the router's configuration and keep its
 * state. A configuration older than the one in force is not applied: configuration entries are
 * written by whichever process saw a change, each after its own read, so an older read can land
 * after a newer one (a skill saved, then a queue at once: the queue's entry first, then the
 * skill's without the queue, which would leave the router without the queue).
 */
export function applyEntry(p: PartitionRouter, entry: InputEntry): readonly RouterDecision[] {
  if (entry.input.type === 'config') {
    const incomingVersion = versionNumber(entry.input.version);
    const currentVersion = versionNumber(p.config.version);
    if (incomingVersion !== undefined && currentVersion !== undefined && incomingVersion < currentVersion) {
      return [{ kind: 'event_rejected', eventType: 'tick', code: 'config.older', message: `configuration ${entry.input.version} not applied: ${p.config.version} is newer` }];
    }
    const snapshot = exportSnapshot(p.state);
    // A queue removed from the configuration keeps serving the tasks already in it until they leave.
    const incoming = new Set(entry.input.queues.map((q) => q.id));
    const busy = new Set(snapshot.tasks.map((t) => t.queueId));
    const kept = p.queues.filter((q) => !incoming.has(q.id) && busy.has(q.id));
    const queues = [...entry.input.queues, ...kept];
    try {
      const config = configFor(p, entry.input.version, queues);
      const state = restoreRouterState(config, snapshot);
      p.queues = queues;
      p.config = config;
      p.state = state;
      return [];
    } catch (err) {
      // A configuration the router cannot take leaves the previous one in force; say so in the record.
      const e = err as { code?: string; message?: string };
      return [{ kind: 'event_rejected', eventType: 'tick', code: e.code ?? 'config.rejected', message: `configuration ${entry.input.version} not applied: ${e.message ?? String(err)}` }];
    }
  }
  const r = route(p.state, entry.input, entry.at);
  p.state = r.state;
  return r.decisions;
}
