import t from 'tap';
import type { AriAnyEvent } from '../../../server/telephony/ari-types.js';
import { eventOrderingKey } from '../../../server/telephony/ordering-key.js';

const base = { application: 'ipcc', timestamp: '2026-01-01T00:00:00.000+0000' };
const ev = (e: Record<string, unknown>) => ({ ...base, ...e }) as AriAnyEvent;

t.test('given channel events when keyed then they share the channel key', async (t) => {
  for (const type of ['StasisStart', 'ChannelStateChange', 'ChannelDtmfReceived', 'StasisEnd']) {
    t.equal(eventOrderingKey(ev({ type, channel: { id: 'c1' } })), 'channel:c1', type);
  }
});

t.test('given playback and recording events when keyed then they follow their target', async (t) => {
  t.equal(eventOrderingKey(ev({ type: 'PlaybackFinished', playback: { id: 'p', target_uri: 'channel:c1' } })), 'channel:c1');
  t.equal(eventOrderingKey(ev({ type: 'PlaybackStarted', playback: { id: 'p', target_uri: 'bridge:b1' } })), 'bridge:b1');
  t.equal(eventOrderingKey(ev({ type: 'RecordingFinished', recording: { name: 'r', target_uri: 'channel:c2' } })), 'channel:c2');
  t.equal(eventOrderingKey(ev({ type: 'PlaybackFinished', playback: { id: 'p', target_uri: 'endpoint:PJSIP/x' } })), 'global');
});

t.test('given a channel entering a bridge when keyed then the channel wins over the bridge', async (t) => {
  t.equal(eventOrderingKey(ev({ type: 'ChannelEnteredBridge', channel: { id: 'c1' }, bridge: { id: 'b1' } })), 'channel:c1');
  t.equal(eventOrderingKey(ev({ type: 'BridgeDestroyed', bridge: { id: 'b1' } })), 'bridge:b1');
});

t.test('given events without a channel field when keyed then their main leg is used', async (t) => {
  t.equal(eventOrderingKey(ev({ type: 'Dial', peer: { id: 'agent-leg' }, dialstatus: 'RINGING' })), 'channel:agent-leg');
  t.equal(
    eventOrderingKey(ev({ type: 'ChannelTransfer', referred_by: { source_channel: { id: 'c9' } }, refer_to: {} })),
    'channel:c9',
  );
  t.equal(eventOrderingKey(ev({ type: 'BridgeAttendedTransfer', transferer_first_leg: { id: 'c3' } })), 'channel:c3');
});

t.test('given an event about nothing in particular when keyed then it goes to the shared key', async (t) => {
  t.equal(eventOrderingKey(ev({ type: 'ApplicationReplaced' })), 'global');
  t.equal(eventOrderingKey(ev({ type: 'DeviceStateChanged', device_state: { name: 'x' } })), 'global');
  t.equal(eventOrderingKey(ev({ type: 'ChannelVarset', variable: 'X', value: '1' })), 'global', 'a global variable');
});
