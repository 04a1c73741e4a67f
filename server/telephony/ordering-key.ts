import type { AriAnyEvent } from './ari-types.js';

/**
 * The key whose events must be handled in order: the channel the event is about, else the
 * bridge, else one shared key. Playback and recording events are keyed by their target
 * (`channel:ID` / `bridge:ID`), so a PlaybackFinished is handled before the StasisEnd that
 * Asterisk sent after it.
 */
export function eventOrderingKey(event: AriAnyEvent): string {
  const channelId = idOf(event['channel']);
  if (channelId) return `channel:${channelId}`;
  switch (event.type) {
    case 'PlaybackStarted':
    case 'PlaybackContinuing':
    case 'PlaybackFinished':
      return targetKey(event['playback']);
    case 'RecordingStarted':
    case 'RecordingFinished':
    case 'RecordingFailed':
      return targetKey(event['recording']);
    case 'Dial': {
      const peer = idOf(event['peer']);
      if (peer) return `channel:${peer}`;
      break;
    }
    case 'ChannelTransfer': {
      const referredBy = event['referred_by'] as { source_channel?: unknown } | undefined;
      const source = idOf(referredBy?.source_channel);
      if (source) return `channel:${source}`;
      break;
    }
    case 'BridgeAttendedTransfer': {
      const first = idOf(event['transferer_first_leg']);
      if (first) return `channel:${first}`;
      break;
    }
    default:
      break;
  }
  const bridgeId = idOf(event['bridge']);
  if (bridgeId) return `bridge:${bridgeId}`;
  return 'global';
}

function idOf(resource: unknown): string | undefined {
  if (resource !== null && typeof resource === 'object') {
    const id = (resource as { id?: unknown }).id;
    if (typeof id === 'string' && id.length > 0) return id;
  }
  return undefined;
}

function targetKey(resource: unknown): string {
  if (resource !== null && typeof resource === 'object') {
    const target = (resource as { target_uri?: unknown }).target_uri;
    // target_uri is "channel:ID", "bridge:ID", "endpoint:..." or "deviceState:...".
    if (typeof target === 'string' && /^(channel|bridge):.+/.test(target)) return target;
  }
  return 'global';
}
