import { randomUUID } from 'node:crypto';
import type { Log } from '../infra/logger.js';
import type { AriClient } from './ari-client.js';
import type { Telephony } from './telephony.js';

/**
 * The port between call logic and a media server. Its types carry no
 * Asterisk notions (a FreeSWITCH driver could implement it): calls and legs
 * are opaque ids, events say what happened to them.
 *
 * A *call* is a customer's channel that arrived at an entry point. A *leg* is
 * a channel we place (to an agent), tagged with our own id so its events can
 * be matched to the offer that caused it.
 */
export type CallEvent =
  | { type: 'call_arrived'; server: string; callId: string; entry: string; callerNumber: string; callerName: string }
  /** `at`: when the media server saw it (epoch ms, by its clock), when its event says. */
  | { type: 'leg_answered'; server: string; legId: string; tag: string; at?: number }
  | { type: 'leg_ended'; server: string; legId: string; tag: string; answered: boolean; cause: number; endedBy?: 'remote' | 'us' | 'media_server'; at?: number }
  /** A side leg ({@link CallControl.ringSideLeg}) was answered. */
  | { type: 'side_leg_answered'; server: string; legId: string }
  /** A side leg or a snoop ended; `answered` is false for a phone that never answered. */
  | { type: 'side_leg_ended'; server: string; legId: string; answered: boolean; cause: number }
  /** The customer's channel is gone; `cause` is the Q.850 cause Asterisk gave. */
  | {
      type: 'call_ended'; server: string; callId: string; cause: number; causeText: string;
      /** Who ended it: the customer's side, our own request, or the media server itself (a shutdown, an admin). */
      endedBy: 'remote' | 'us' | 'media_server';
    }
  /** A key pressed on a call or a leg (RFC 2833 / SIP INFO, as the media server decoded it). */
  | { type: 'dtmf'; server: string; channelId: string; digit: string }
  /** A playback started by {@link CallControl.play} ended (played out, stopped, or failed). */
  | { type: 'playback_finished'; server: string; channelId: string; playbackId: string; failed: boolean }
  /** A recording of a channel or bridge ended; `ok` false when the media server could not write it. */
  | { type: 'recording_ended'; server: string; name: string; ok: boolean; durationSeconds: number | undefined }
  /**
   * A media server connected or reconnected: events of the time we were away are lost, so the
   * call logic must reconcile with {@link CallControl.snapshot}. `startedAt` is when that server
   * itself last started (a later time than a call's arrival means it restarted under the call).
   */
  | { type: 'server_up'; server: string; reconnect: boolean; startedAt: number | undefined }
  /** A phone asked to transfer its call (a SIP REFER): `destination` is the number it named. */
  | { type: 'transfer_requested'; server: string; channelId: string; destination: string };

/** A channel as a snapshot sees it: a customer's call, one of our legs, or something else. */
export interface ChannelSnapshot {
  id: string;
  kind: 'call' | 'leg' | 'other';
  /** For calls: the entry point; for legs: the tag they were placed with. */
  arg: string | undefined;
  answered: boolean;
  /** Epoch ms. */
  createdAt: number;
}

/** What one media server holds of our application right now. */
export interface ServerSnapshot {
  channels: ChannelSnapshot[];
  bridges: { id: string; channelIds: string[] }[];
  /** Every channel on the media server, ours or not (whether a channel is still there at all). */
  allChannelIds?: string[];
}

/**
 * Which way a channel's audio goes, seen from its party: `in` is what the party says, `out` what
 * the party hears. A snoop listens to and speaks into these directions.
 */
export type AudioDirection = 'none' | 'in' | 'out' | 'both';

export interface CallControl {
  onEvent(handler: (e: CallEvent) => void | Promise<void>): () => void;
  /** The channels and bridges of our application on one server (after a restart or reconnect). */
  snapshot(server: string): Promise<ServerSnapshot>;
  /**
   * Takes over channels found by a snapshot (after our process restarted): their later events
   * (answer, hang-up, keys) are reported as for channels seen arriving.
   */
  adopt(server: string, channels: readonly { id: string; kind: 'call' | 'leg'; tag?: string; answered?: boolean }[]): void;
  answer(server: string, callId: string): Promise<void>;
  hangup(server: string, channelId: string): Promise<void>;
  /** Whether a channel is gone from the media server (it answers "not found" for it). */
  channelGone(server: string, channelId: string): Promise<boolean>;
  /**
   * Plays prompts to one channel, in order, as one playback; resolves with its id once started.
   * `playbackId` lets the caller name it (to match its `playback_finished` event).
   */
  play(server: string, channelId: string, media: readonly string[], opts?: { playbackId?: string; language?: string }): Promise<string>;
  /** Music on hold to one channel (outside any bridge), or off again. */
  holdMusic(server: string, channelId: string, on: boolean): Promise<void>;
  /** Drops (or passes again) what a channel sends, so the others in its bridge do not hear it. */
  muteChannel(server: string, channelId: string, muted: boolean): Promise<void>;
  /** Stops a playback; one that already ended is not an error. */
  stopPlayback(server: string, playbackId: string): Promise<void>;
  /**
   * Records what one channel says (a voicemail), up to `maxSeconds`; a key in `terminateOn`
   * ends it. Its end arrives as `recording_ended`.
   */
  recordChannel(server: string, channelId: string, opts: { name: string; maxSeconds: number; beep: boolean; terminateOn: 'none' | 'any' | '#' | '*' }): Promise<void>;
  /** Ends a live recording (the file is kept). One that already ended is not an error. */
  stopRecording(server: string, name: string): Promise<void>;
  /** Mutes or unmutes a live recording: muted stretches are written as silence, the timeline is kept. */
  muteRecording(server: string, name: string, muted: boolean): Promise<void>;
  /** Deletes a stored recording; an unknown one is not an error. */
  deleteRecording(server: string, name: string): Promise<void>;
  /** A bridge where callers of one queue wait with music on hold (created once, reused). */
  ensureHoldingBridge(server: string, bridgeId: string): Promise<void>;
  /** A two-party mixing bridge; its media can be recorded. */
  createMixingBridge(server: string, bridgeId: string): Promise<void>;
  addToBridge(server: string, bridgeId: string, channelIds: readonly string[]): Promise<void>;
  removeFromBridge(server: string, bridgeId: string, channelIds: readonly string[]): Promise<void>;
  destroyBridge(server: string, bridgeId: string): Promise<void>;
  /** Rings an endpoint for `timeoutSeconds` while the caller keeps its music; returns the leg id. */
  ringLeg(server: string, opts: { endpoint: string; tag: string; originatorCallId?: string | undefined; callerId: string; timeoutSeconds: number }): Promise<string>;
  recordBridge(server: string, bridgeId: string, name: string): Promise<void>;
  /**
   * Records everything a channel hears and says (a snoop on both directions, recorded), until the
   * channel ends; transfers, holds and conferences stay on the same recording. Cheaper for the
   * media server than recording a bridge: a recorded two-party bridge becomes a three-party mix
   * (measured: at 20 calls/s on 2 cores, entry→ring p99 2.8 s and a quarter of the recordings
   * short with bridge recording; 350 ms and all complete this way).
   */
  recordCall(server: string, channelId: string, name: string): Promise<void>;
  /**
   * Gets `recordCall` of this channel ready ahead of time (while an agent's phone rings): the
   * snoop is made now, so on the answer only the recording has to start. Never rejects (a failed
   * preparation only means `recordCall` makes its snoop itself).
   */
  prepareRecording(server: string, channelId: string): Promise<void>;
  /** Lets go of a prepared recording that did not start (the offer went unanswered, the caller left the queue). */
  dropPreparedRecording(server: string, channelId: string): Promise<void>;
  /** A finished recording's file, from the server that made it. */
  fetchRecording(server: string, name: string): Promise<{ contentType: string; body: Buffer }>;
  /**
   * Rings a phone that joins a call from the side (a supervisor's) as a leg with the id we give.
   * Unlike an offer's leg, its answer and end arrive as `side_leg_answered` / `side_leg_ended`, so
   * the call logic of offers never sees it. Resolves once the phone rings; a phone that does not
   * answer within `timeoutSeconds` ends the leg (`side_leg_ended`, not answered).
   */
  ringSideLeg(server: string, opts: { legId: string; endpoint: string; callerId: string; timeoutSeconds: number }): Promise<void>;
  /**
   * A snoop on a channel: a new leg with the id we give that hears the channel's `listen`
   * direction(s), and whose own audio is mixed into the `speak` direction(s) (`out`: only the
   * channel's party hears it). Resolves once the snoop can be bridged, or rejects after
   * `timeoutMs` (default 3000) with nothing left behind. Its directions are fixed: to change them,
   * make a new snoop. It ends (`side_leg_ended`) when the channel does.
   */
  snoop(server: string, channelId: string, opts: { snoopId: string; listen: AudioDirection; speak: AudioDirection; timeoutMs?: number }): Promise<void>;
}

/** Pauses between the tries of a hang-up the media server did not answer (about 30 s in all). */
const HANGUP_RETRY_MS = [250, 500, 1000, 2000, 4000, 8000, 15000] as const;
const LEG_ARG = 'leg';
/** Our legs' channel ids: a leg still ringing is not in the application yet, so its id tells it apart. */
const LEG_ID_PREFIX = 'leg-';
/** An ARI event's own time (the media server's clock), when it has one that parses. */
function eventTime(e: { timestamp?: string }): { at?: number } {
  const at = e.timestamp ? Date.parse(e.timestamp) : NaN;
  return Number.isFinite(at) ? { at } : {};
}
/** How long StasisEnd waits for the ChannelDestroyed that should follow it. */
const STASIS_END_GRACE_MS = 500;
/** Q.850 causes of a failed dial, for a channel whose ChannelDestroyed never came. */
const DIAL_CAUSES: Record<string, number> = { BUSY: 17, NOANSWER: 19, CHANUNAVAIL: 20, CONGESTION: 34 };

/**
 * CallControl over ARI. Our own legs are created into Stasis with the argument
 * `leg,<tag>`, so their StasisStart is never mistaken for a customer arriving;
 * customers arrive with `inbound,<entry>` from the dialplan.
 */
export function createAriCallControl(telephony: Telephony, log: Log): CallControl {
  const handlers = new Set<(e: CallEvent) => void | Promise<void>>();
  /**
   * channel id → tag, for legs we placed (whether they are in our application yet, and answered).
   * A leg is originated straight into our application: it enters it when the phone answers.
   */
  const legs = new Map<string, { tag: string; answered: boolean; inStasis: boolean }>();
  /** customer channels in our application. */
  const calls = new Set<string>();
  /** Customer channels we asked to hang up, and those the media server hung up by itself. */
  const hungUpByUs = new Set<string>();
  const hungUpByServer = new Set<string>();
  const hungUpByRemote = new Set<string>();
  /** Recording snoops made ahead of time (by server and channel), resolving to the snoop's id. */
  const preparedRecordings = new Map<string, Promise<string | undefined>>();
  /** Holding bridges being made right now, by server and id. */
  const holdingBridges = new Map<string, Promise<void>>();
  /**
   * Holding bridges known to be there (by server and id): every caller of a queue joins the
   * same one, so it is looked up once, not per caller. Forgotten when the media server says it
   * is gone and on every (re)connection, when anything may have changed.
   */
  const knownHolding = new Set<string>();
  telephony.on('BridgeDestroyed', (e, c) => {
    knownHolding.delete(`${c.name}\u0000${e.bridge.id}`);
  });

  const emit = async (e: CallEvent): Promise<void> => {
    for (const h of handlers) {
      try {
        await h(e);
      } catch (err) {
        log.error({ err, event: e.type }, 'call event handler failed');
      }
    }
  };
  const client = (server: string): AriClient => telephony.server(server);
  const side = createSideLegs(telephony, client, emit);
  /**
   * The snoop a call is recorded from: both directions of the channel, nothing spoken into it.
   * One per channel (`rec-<channel>`): when the id is still held (a prepared snoop being let
   * go, or a leftover of an earlier process that never recorded), that one is hung up and the
   * snoop made again once.
   */
  const makeRecordingSnoop = async (server: string, channelId: string): Promise<string> => {
    const snoopId = `rec-${channelId}`;
    try {
      await side.snoop(server, channelId, { snoopId, listen: 'both', speak: 'none' });
    } catch {
      await client(server).channels.hangup(snoopId, 'normal').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await side.snoop(server, channelId, { snoopId, listen: 'both', speak: 'none' });
    }
    return snoopId;
  };

  telephony.on('StasisStart', async (e, c) => {
    const [kind, arg] = e.args ?? [];
    if (kind === LEG_ARG && arg) {
      const known = legs.get(e.channel.id);
      const leg = known ?? { tag: arg, answered: e.channel.state === 'Up', inStasis: false };
      leg.inStasis = true;
      legs.set(e.channel.id, leg);
      // The phone answered: the leg can be bridged from now on (not before it is in the application).
      if (known && !leg.answered && e.channel.state === 'Up') {
        leg.answered = true;
        await emit({ type: 'leg_answered', server: c.name, legId: e.channel.id, tag: leg.tag, ...eventTime(e) });
      }
      return;
    }
    if (kind !== 'inbound') return;
    calls.add(e.channel.id);
    await emit({ type: 'call_arrived', server: c.name, callId: e.channel.id, entry: arg ?? '', callerNumber: e.channel.caller?.number ?? '', callerName: e.channel.caller?.name ?? '' });
  });
  telephony.on('ChannelStateChange', async (e, c) => {
    const leg = legs.get(e.channel.id);
    // An originated leg reports its answer before it enters the application: StasisStart says it then.
    if (leg && leg.inStasis && !leg.answered && e.channel.state === 'Up') {
      leg.answered = true;
      await emit({ type: 'leg_answered', server: c.name, legId: e.channel.id, tag: leg.tag, ...eventTime(e) });
    }
  });
  /** Who ended a channel: our own request, the far end (a hard request), or Asterisk itself (only soft ones). */
  const endedByOf = (id: string): 'us' | 'remote' | 'media_server' => {
    const by = hungUpByUs.has(id) ? 'us' : hungUpByRemote.has(id) ? 'remote' : hungUpByServer.has(id) ? 'media_server' : 'remote';
    hungUpByUs.delete(id);
    hungUpByRemote.delete(id);
    hungUpByServer.delete(id);
    return by;
  };
  telephony.on('ChannelHangupRequest', (e) => {
    if (e.cause && (calls.has(e.channel.id) || legs.has(e.channel.id))) lastCause.set(e.channel.id, e.cause);
    // A soft hang-up we did not ask for comes from inside Asterisk (shutdown, an admin, a timeout);
    // the customer's own BYE is a hard one.
    // A far end's BYE shows as a hard request (a soft one may follow as the channel is torn down).
    if (!calls.has(e.channel.id) && !legs.has(e.channel.id)) return;
    if (!e.soft) hungUpByRemote.add(e.channel.id);
    else if (!hungUpByUs.has(e.channel.id)) hungUpByServer.add(e.channel.id);
  });
  /**
   * Asterisk sends a channel's events once per subscription that covers it (the application's,
   * and an endpoint's or the channel's own if someone subscribed the application to those too).
   * A key must count once: a copy has the same timestamp, to the millisecond.
   */
  const recentKeys = new Map<string, string[]>();
  const seenKey = (channelId: string, key: string): boolean => {
    const recent = recentKeys.get(channelId) ?? [];
    if (recent.includes(key)) return true;
    recent.push(key);
    if (recent.length > 8) recent.shift();
    recentKeys.set(channelId, recent);
    return false;
  };
  telephony.on('ChannelTransfer', async (e, c) => {
    const source = e.referred_by?.source_channel?.id;
    const destination = e.refer_to?.requested_destination?.destination ?? '';
    if (!source || (!legs.has(source) && !calls.has(source))) return;
    // Refer-To may be a bare number or a SIP URI: keep the user part.
    const m = /^(?:sips?:)?([^@;>]+)/.exec(destination.replace(/^</, ''));
    await emit({ type: 'transfer_requested', server: c.name, channelId: source, destination: m?.[1] ?? destination });
  });
  telephony.on('ChannelDtmfReceived', async (e, c) => {
    if (!legs.has(e.channel.id) && !calls.has(e.channel.id)) return;
    if (seenKey(e.channel.id, `${c.name}|${e.timestamp}|${e.digit}`)) return;
    await emit({ type: 'dtmf', server: c.name, channelId: e.channel.id, digit: e.digit });
  });
  telephony.on('PlaybackFinished', async (e, c) => {
    const target = e.playback.target_uri ?? '';
    if (!target.startsWith('channel:')) return;
    await emit({ type: 'playback_finished', server: c.name, channelId: target.slice('channel:'.length), playbackId: e.playback.id, failed: e.playback.state === 'failed' });
  });
  telephony.on('RecordingFinished', async (e, c) => {
    await emit({ type: 'recording_ended', server: c.name, name: e.recording.name, ok: true, durationSeconds: e.recording.duration });
  });
  telephony.on('RecordingFailed', async (e, c) => {
    await emit({ type: 'recording_ended', server: c.name, name: e.recording.name, ok: false, durationSeconds: e.recording.duration });
  });
  /** The end of one of our channels, reported once, from ChannelDestroyed or (failing it) StasisEnd. */
  const channelGone = async (server: string, id: string, cause: number, causeText: string, time: { at?: number } = {}): Promise<void> => {
    recentKeys.delete(id);
    const pending = endFallbacks.get(id);
    if (pending) clearTimeout(pending);
    endFallbacks.delete(id);
    const leg = legs.get(id);
    const knownCause = cause || lastCause.get(id) || 0;
    lastCause.delete(id);
    if (leg) {
      legs.delete(id);
      const endedBy = endedByOf(id);
      await emit({ type: 'leg_ended', server, legId: id, tag: leg.tag, answered: leg.answered, cause: knownCause, endedBy, ...time });
      return;
    }
    if (calls.delete(id)) {
      preparedRecordings.delete(`${server}\u0000${id}`);
      const endedBy = endedByOf(id);
      await emit({ type: 'call_ended', server, callId: id, cause: knownCause, causeText, endedBy });
    }
  };
  telephony.on('ChannelDestroyed', (e, c) => channelGone(c.name, e.channel.id, e.cause ?? 0, e.cause_txt ?? '', eventTime(e)));
  /**
   * Our calls and legs leave the application only by ending (we never send them back to the
   * dialplan). Asterisk drops the application's channel subscription at StasisEnd, and the
   * ChannelDestroyed that follows does not always reach us (measured on 22.10 for callers
   * hanging up in a holding bridge; it used to arrive through the `endpoint:PJSIP`
   * subscription). So StasisEnd ends the channel too, after a short wait for ChannelDestroyed
   * and its cause; the cause is otherwise the hang-up request's or the dial's.
   */
  const endFallbacks = new Map<string, NodeJS.Timeout>();
  const lastCause = new Map<string, number>();
  telephony.on('StasisEnd', (e, c) => {
    const id = e.channel.id;
    if ((!legs.has(id) && !calls.has(id)) || endFallbacks.has(id)) return;
    const time = eventTime(e);
    const timer = setTimeout(() => void channelGone(c.name, id, 0, '', time), STASIS_END_GRACE_MS);
    timer.unref();
    endFallbacks.set(id, timer);
  });
  telephony.on('Dial', (e) => {
    const cause = DIAL_CAUSES[e.dialstatus];
    if (cause && (legs.has(e.peer.id) || calls.has(e.peer.id))) lastCause.set(e.peer.id, cause);
  });

  telephony.onConnectionChange((change) => {
    for (const key of knownHolding) if (key.startsWith(`${change.server}\u0000`)) knownHolding.delete(key);
    if (!change.up) return;
    void (async () => {
      let startedAt: number | undefined;
      try {
        const info = await client(change.server).asterisk.info();
        const t = Date.parse(info.status?.startup_time ?? '');
        startedAt = Number.isFinite(t) ? t : undefined;
      } catch (err) {
        log.warn({ err, server: change.server }, 'could not read when the media server started');
      }
      await emit({ type: 'server_up', server: change.server, reconnect: change.reconnect, startedAt });
    })();
  });

  const ignoreNotFound = (err: unknown): void => {
    if ((err as { kind?: string }).kind !== 'not_found') throw err;
  };

  return {
    onEvent(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async snapshot(server) {
      const c = client(server);
      const [app, channels, bridges] = await Promise.all([c.applications.get(c.app), c.channels.list(), c.bridges.list()]);
      const ours = new Set(app.channel_ids);
      const ourBridges = new Set(app.bridge_ids);
      return {
        channels: channels
          .filter((ch) => ours.has(ch.id))
          .map((ch) => {
            // The Stasis() arguments are visible in the dialplan location: "<app>,inbound,<entry>".
            const args = (ch.dialplan?.app_data ?? '').split(',');
            const known = legs.get(ch.id);
            const kind: ChannelSnapshot['kind'] = known || ch.id.startsWith(LEG_ID_PREFIX) ? 'leg' : args[1] === 'inbound' ? 'call' : args[1] === LEG_ARG ? 'leg' : 'other';
            const created = Date.parse(ch.creationtime);
            return { id: ch.id, kind, arg: known?.tag ?? args[2], answered: ch.state === 'Up', createdAt: Number.isFinite(created) ? created : 0 };
          }),
        bridges: bridges.filter((b) => ourBridges.has(b.id)).map((b) => ({ id: b.id, channelIds: b.channels })),
        allChannelIds: channels.map((ch) => ch.id),
      };
    },
    adopt(_server, channels) {
      for (const ch of channels) {
        if (ch.kind === 'call') calls.add(ch.id);
        else if (ch.tag !== undefined && !legs.has(ch.id)) legs.set(ch.id, { tag: ch.tag, answered: ch.answered ?? false, inStasis: true });
      }
    },
    answer: (server, callId) => client(server).channels.answer(callId),
    async channelGone(server, channelId) {
      try {
        await client(server).channels.get(channelId);
        return false;
      } catch (err) {
        if ((err as { kind?: string }).kind === 'not_found') return true;
        throw err;
      }
    },
    async hangup(server, channelId) {
      if (calls.has(channelId) || legs.has(channelId)) hungUpByUs.add(channelId);
      // A hang-up the media server did not answer (a request timed out under overload, a
      // reconnect) is asked again until the channel is gone: a channel we ended must not stay
      // up, holding a phone or a trunk. Channel ids are never reused, so a late repeat is harmless.
      for (let attempt = 0; ; attempt++) {
        try {
          await client(server).channels.hangup(channelId, 'normal');
          return;
        } catch (err) {
          const e = err as { kind?: string; retryable?: boolean };
          if (e.kind === 'not_found') return;
          const wait = HANGUP_RETRY_MS[attempt];
          if (!e.retryable || wait === undefined) throw err;
          log.warn({ err, server, channelId, attempt: attempt + 1 }, 'hang-up not answered; asking again');
          await new Promise((r) => setTimeout(r, wait).unref());
        }
      }
    },
    async play(server, channelId, media, opts) {
      const p = await client(server).channels.play(channelId, {
        media, ...(opts?.playbackId ? { playbackId: opts.playbackId } : {}), ...(opts?.language ? { lang: opts.language } : {}),
      });
      return p.id;
    },
    async holdMusic(server, channelId, on) {
      const ch = client(server).channels;
      await (on ? ch.startMoh(channelId, 'default') : ch.stopMoh(channelId).catch(ignoreNotFound));
    },
    async muteChannel(server, channelId, muted) {
      await client(server).request(muted ? 'POST' : 'DELETE', `/channels/${encodeURIComponent(channelId)}/mute`, { query: { direction: 'in' } });
    },
    stopPlayback: (server, playbackId) => client(server).playbacks.stop(playbackId).catch(ignoreNotFound),
    async recordChannel(server, channelId, o) {
      await client(server).channels.record(channelId, { name: o.name, format: 'wav', maxDurationSeconds: o.maxSeconds, beep: o.beep, terminateOn: o.terminateOn, ifExists: 'overwrite' });
    },
    stopRecording: (server, name) => client(server).recordings.stop(name).catch(ignoreNotFound),
    async muteRecording(server, name, muted) {
      const r = client(server).recordings;
      await (muted ? r.mute(name) : r.unmute(name));
    },
    async deleteRecording(server, name) {
      await client(server).request('DELETE', `/recordings/stored/${encodeURIComponent(name)}`).catch(ignoreNotFound);
    },
    ensureHoldingBridge(server, bridgeId) {
      // Callers arriving together ask at once: one creation per bridge, the others wait for it.
      const key = `${server}\u0000${bridgeId}`;
      if (knownHolding.has(key)) return Promise.resolve();
      const pending = holdingBridges.get(key);
      if (pending) return pending;
      const c = client(server);
      const made = (async () => {
        try {
          await c.bridges.get(bridgeId);
          return;
        } catch (err) {
          ignoreNotFound(err);
        }
        try {
          await c.bridges.create({ bridgeId, type: 'holding', name: bridgeId });
        } catch (err) {
          // Made meanwhile (another process, or before a restart): it is there, which is all we need.
          if ((err as { kind?: string }).kind !== 'conflict') throw err;
          return;
        }
        await c.bridges.startMoh(bridgeId, 'default');
      })()
        .then(() => {
          knownHolding.add(key);
        })
        .finally(() => holdingBridges.delete(key));
      holdingBridges.set(key, made);
      return made;
    },
    async createMixingBridge(server, bridgeId) {
      await client(server).bridges.create({ bridgeId, type: 'mixing,proxy_media', name: bridgeId });
    },
    addToBridge: (server, bridgeId, ids) => client(server).bridges.addChannel(bridgeId, ids),
    removeFromBridge: (server, bridgeId, ids) => client(server).bridges.removeChannel(bridgeId, ids).catch(ignoreNotFound),
    destroyBridge: (server, bridgeId) => client(server).bridges.destroy(bridgeId).catch(ignoreNotFound),
    async ringLeg(server, o) {
      // One request: the media server dials the phone at once and puts the answered leg in our
      // application (a channel created first must be seen entering the application before it
      // can be dialled: a request and an event more before the phone rings).
      const c = client(server);
      const id = `${LEG_ID_PREFIX}${randomUUID()}`;
      legs.set(id, { tag: o.tag, answered: false, inStasis: false });
      try {
        await c.channels.originate({
          endpoint: o.endpoint, app: c.app, appArgs: `${LEG_ARG},${o.tag}`, channelId: id, ...(o.originatorCallId ? { originator: o.originatorCallId } : {}), callerId: o.callerId,
          timeout: Math.max(1, Math.round(o.timeoutSeconds)),
          // A transfer pressed on a PJSIP phone (SIP REFER) comes to us as an event (ChannelTransfer →
          // transfer_requested) instead of being carried out by Asterisk; set here, with the leg
          // (no request more once it answers).
          ...(o.endpoint.startsWith('PJSIP/') ? { variables: { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' } } : {}),
        });
      } catch (err) {
        legs.delete(id);
        throw err;
      }
      return id;
    },
    async recordBridge(server, bridgeId, name) {
      await client(server).bridges.record(bridgeId, { name, format: 'wav', ifExists: 'overwrite' });
    },
    async recordCall(server, channelId, name) {
      // The snoop is a side channel of ours (never an orphan to hang up after a restart); it ends
      // with the channel it listens to, and so does its recording.
      const key = `${server}\u0000${channelId}`;
      const prepared = preparedRecordings.get(key);
      preparedRecordings.delete(key);
      const snoopId = (await prepared) ?? (await makeRecordingSnoop(server, channelId));
      try {
        await client(server).channels.record(snoopId, { name, format: 'wav', ifExists: 'overwrite' });
      } catch (err) {
        await client(server).channels.hangup(snoopId, 'normal').catch(() => undefined);
        throw err;
      }
    },
    prepareRecording(server, channelId) {
      const key = `${server}\u0000${channelId}`;
      let prepared = preparedRecordings.get(key);
      if (!prepared) {
        prepared = makeRecordingSnoop(server, channelId).catch((err: unknown) => {
          log.warn({ err, channelId }, 'could not prepare the recording ahead of the answer');
          return undefined;
        });
        preparedRecordings.set(key, prepared);
      }
      return prepared.then(() => undefined);
    },
    async dropPreparedRecording(server, channelId) {
      const key = `${server}\u0000${channelId}`;
      const prepared = preparedRecordings.get(key);
      if (!prepared) return;
      preparedRecordings.delete(key);
      const snoopId = await prepared;
      if (snoopId) await client(server).channels.hangup(snoopId, 'normal').catch(() => undefined);
    },
    async fetchRecording(server, name) {
      const r = await client(server).download(`/recordings/stored/${encodeURIComponent(name)}/file`, { timeoutMs: 30000 });
      return { contentType: r.contentType ?? 'audio/wav', body: r.body };
    },
    ringSideLeg: side.ringSideLeg,
    snoop: side.snoop,
  };
}

/** The Stasis argument of side legs and snoops: never an arriving customer, never an offer's leg. */
const SIDE_ARG = 'side';

/**
 * Side legs (a supervisor's phone) and snoops, kept apart from offers' legs so that the offer
 * logic (which hangs up legs it does not know) never sees them. Their ids are chosen by the
 * caller, so a restarted process can still tell its own leftovers from a snapshot.
 */
function createSideLegs(
  telephony: Telephony,
  client: (server: string) => AriClient,
  emit: (e: CallEvent) => Promise<void>,
): Pick<CallControl, 'ringSideLeg' | 'snoop'> {
  const side = new Map<string, { answered: boolean; inStasis: boolean; snoop: boolean; entered?: (() => void) | undefined }>();
  telephony.on('StasisStart', (e) => {
    if (e.args?.[0] !== SIDE_ARG) return;
    const leg = side.get(e.channel.id) ?? { answered: e.channel.state === 'Up', inStasis: false, snoop: false };
    leg.inStasis = true;
    side.set(e.channel.id, leg);
    leg.entered?.();
  });
  // Events may come twice (once per subscription covering the channel): each is acted on once.
  telephony.on('ChannelStateChange', async (e, c) => {
    const leg = side.get(e.channel.id);
    if (!leg || leg.answered || e.channel.state !== 'Up') return;
    leg.answered = true;
    await emit({ type: 'side_leg_answered', server: c.name, legId: e.channel.id });
  });
  const ended = async (server: string, id: string, cause: number): Promise<void> => {
    const leg = side.get(id);
    if (!leg) return;
    side.delete(id);
    await emit({ type: 'side_leg_ended', server, legId: id, answered: leg.answered, cause });
  };
  telephony.on('ChannelDestroyed', (e, c) => ended(c.name, e.channel.id, e.cause ?? 0));
  // Asterisk does not report a snoop channel's destruction to the application (measured on 22.10:
  // StasisEnd only), and a snoop never leaves the application but by ending.
  telephony.on('StasisEnd', (e, c) => (side.get(e.channel.id)?.snoop ? ended(c.name, e.channel.id, 0) : undefined));
  /** Channels must be in our application before they can be dialled or bridged. */
  const inStasisWithin = (id: string, ms: number): Promise<void> => {
    const leg = side.get(id);
    if (!leg || leg.inStasis) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        leg.entered = undefined;
        reject(new Error(`${id} did not enter the application within ${ms} ms`));
      }, ms);
      leg.entered = () => {
        clearTimeout(timer);
        leg.entered = undefined;
        resolve();
      };
    });
  };
  /** A failed start leaves nothing behind, and reports no end event (the rejection says it). */
  const undo = async (c: AriClient, id: string): Promise<void> => {
    side.delete(id);
    await c.channels.hangup(id, 'normal').catch(() => undefined);
  };
  return {
    async ringSideLeg(server, o) {
      const c = client(server);
      side.set(o.legId, { answered: false, inStasis: false, snoop: false });
      try {
        await c.channels.create({ endpoint: o.endpoint, app: c.app, appArgs: SIDE_ARG, channelId: o.legId, callerId: o.callerId });
        await inStasisWithin(o.legId, 3000);
        await c.channels.dial(o.legId, { timeout: Math.max(1, Math.round(o.timeoutSeconds)) });
      } catch (err) {
        await undo(c, o.legId);
        throw err;
      }
    },
    async snoop(server, channelId, o) {
      const c = client(server);
      side.set(o.snoopId, { answered: true, inStasis: false, snoop: true });
      try {
        await c.request('POST', `/channels/${encodeURIComponent(channelId)}/snoop`, {
          query: { spy: o.listen, whisper: o.speak, app: c.app, appArgs: SIDE_ARG, snoopId: o.snoopId },
          timeoutMs: o.timeoutMs ?? 3000,
        });
        await inStasisWithin(o.snoopId, o.timeoutMs ?? 3000);
      } catch (err) {
        await undo(c, o.snoopId);
        throw err;
      }
    },
  };
}
