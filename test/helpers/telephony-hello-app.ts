/**
 * A minimal Stasis application for telephony tests: answer, play hello-world, hang up when
 * the prompt ends. It records the events of the calls it handled, per channel, in the
 * order its handlers saw them.
 */
import type { AriClient, AriEventHandler } from '../../server/telephony/ari-client.js';
import type { AriAnyEvent, AriEventOf, AriEventType } from '../../server/telephony/ari-types.js';

/** What the app needs: a client or the telephony hub. */
export interface EventSource {
  on<K extends AriEventType>(type: K, handler: AriEventHandler<AriEventOf<K>>): () => void;
  onEvent(handler: AriEventHandler<AriAnyEvent>): () => void;
}

export interface HelloCall {
  channelId: string;
  server: string;
  callerNumber: string;
  events: string[];
  failures: unknown[];
}

export interface HelloApp {
  /** Calls by caller number. */
  calls: Map<string, HelloCall>;
  stop(): void;
}

export function installHelloApp(source: EventSource): HelloApp {
  const calls = new Map<string, HelloCall>();
  const byChannel = new Map<string, HelloCall>();
  const offs = [
    source.on('StasisStart', async (e, client: AriClient) => {
      const call: HelloCall = {
        channelId: e.channel.id,
        server: client.name,
        callerNumber: e.channel.caller.number,
        events: [],
        failures: [],
      };
      calls.set(call.callerNumber, call);
      byChannel.set(call.channelId, call);
      try {
        await client.channels.answer(e.channel.id);
        await client.channels.play(e.channel.id, { media: 'sound:hello-world' });
      } catch (error) {
        call.failures.push(error);
      }
    }),
    source.on('PlaybackFinished', async (e, client: AriClient) => {
      const call = byChannel.get(e.playback.target_uri.replace(/^channel:/, ''));
      if (!call) return;
      try {
        await client.channels.hangup(call.channelId);
      } catch (error) {
        call.failures.push(error);
      }
    }),
    source.onEvent((e) => {
      const channel = (e as { channel?: { id?: string } }).channel;
      const target = (e as { playback?: { target_uri?: string } }).playback?.target_uri;
      const id = channel?.id ?? target?.replace(/^channel:/, '');
      const call = id ? byChannel.get(id) : undefined;
      call?.events.push(e.type);
    }),
  ];
  return {
    calls,
    stop: () => offs.forEach((off) => off()),
  };
}
