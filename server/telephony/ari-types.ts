/**
 * The ARI resources and events the server uses, as Asterisk 22 sends them (see the
 * `rest-api/*.json` models shipped with Asterisk). Only this folder speaks ARI; the rest of
 * the server sees our own types.
 */

export type ChannelState =
  | 'Down'
  | 'Rsrved'
  | 'OffHook'
  | 'Dialing'
  | 'Ring'
  | 'Ringing'
  | 'Up'
  | 'Busy'
  | 'Dialing Offhook'
  | 'Pre-ring'
  | 'Unknown';

export interface CallerId {
  name: string;
  number: string;
}

export interface DialplanCep {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export interface Channel {
  id: string;
  protocol_id: string;
  name: string;
  state: ChannelState;
  caller: CallerId;
  connected: CallerId;
  accountcode: string;
  dialplan: DialplanCep;
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
  caller_rdnis?: string;
  tenantid?: string;
}

export interface Bridge {
  id: string;
  technology: string;
  bridge_type: 'mixing' | 'holding';
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  video_mode?: string;
  video_source_id?: string;
  creationtime: string;
  bridgevars?: Record<string, string>;
}

export type PlaybackState = 'queued' | 'playing' | 'continuing' | 'done' | 'failed';

export interface Playback {
  id: string;
  media_uri: string;
  next_media_uri?: string;
  /** `channel:ID` or `bridge:ID`. */
  target_uri: string;
  language?: string;
  state: PlaybackState;
}

export type LiveRecordingState = 'queued' | 'recording' | 'paused' | 'done' | 'failed' | 'canceled';

export interface LiveRecording {
  name: string;
  format: string;
  /** `channel:ID` or `bridge:ID`. */
  target_uri: string;
  state: LiveRecordingState;
  duration?: number;
  talking_duration?: number;
  silence_duration?: number;
  cause?: string;
}

export interface StoredRecording {
  name: string;
  format: string;
}

export interface AsteriskInfo {
  build?: { os: string; kernel: string; options: string; machine: string; date: string; user: string };
  system?: { version: string; entity_id: string };
  config?: { name: string; default_language: string; max_channels?: number; max_open_files?: number };
  status?: { startup_time: string; last_reload_time: string };
}

export interface Application {
  name: string;
  channel_ids: string[];
  bridge_ids: string[];
  endpoint_ids: string[];
  device_names: string[];
  events_allowed: unknown[];
  events_disallowed: unknown[];
}

export interface ConfigTuple {
  attribute: string;
  value: string;
}

export interface Variable {
  value: string;
}

// --- events --------------------------------------------------------------------------------

/** Fields every ARI event carries. */
export interface AriEventBase {
  type: string;
  application: string;
  timestamp: string;
  asterisk_id?: string;
}

export interface StasisStart extends AriEventBase {
  type: 'StasisStart';
  args: string[];
  channel: Channel;
  replace_channel?: Channel;
}
export interface StasisEnd extends AriEventBase {
  type: 'StasisEnd';
  channel: Channel;
}
export interface ChannelCreated extends AriEventBase {
  type: 'ChannelCreated';
  channel: Channel;
}
export interface ChannelStateChange extends AriEventBase {
  type: 'ChannelStateChange';
  channel: Channel;
}
export interface ChannelDtmfReceived extends AriEventBase {
  type: 'ChannelDtmfReceived';
  digit: string;
  duration_ms: number;
  channel: Channel;
}
export interface ChannelHangupRequest extends AriEventBase {
  type: 'ChannelHangupRequest';
  cause?: number;
  tech_cause?: number;
  soft?: boolean;
  channel: Channel;
}
export interface ChannelDestroyed extends AriEventBase {
  type: 'ChannelDestroyed';
  cause: number;
  cause_txt: string;
  tech_cause?: number;
  channel: Channel;
}
export interface ChannelVarset extends AriEventBase {
  type: 'ChannelVarset';
  variable: string;
  value: string;
  channel?: Channel;
}
export interface ChannelDialplan extends AriEventBase {
  type: 'ChannelDialplan';
  channel: Channel;
  dialplan_app: string;
  dialplan_app_data: string;
}
export interface ChannelEnteredBridge extends AriEventBase {
  type: 'ChannelEnteredBridge';
  bridge: Bridge;
  channel?: Channel;
}
export interface ChannelLeftBridge extends AriEventBase {
  type: 'ChannelLeftBridge';
  bridge: Bridge;
  channel: Channel;
}
export interface ChannelHold extends AriEventBase {
  type: 'ChannelHold';
  channel: Channel;
  musicclass?: string;
}
export interface ChannelUnhold extends AriEventBase {
  type: 'ChannelUnhold';
  channel: Channel;
}
export interface ChannelTalkingStarted extends AriEventBase {
  type: 'ChannelTalkingStarted';
  channel: Channel;
}
export interface ChannelTalkingFinished extends AriEventBase {
  type: 'ChannelTalkingFinished';
  channel: Channel;
  duration: number;
}
export interface ChannelTransfer extends AriEventBase {
  type: 'ChannelTransfer';
  state?: string;
  refer_to: {
    requested_destination: { protocol_id?: string; destination?: string; additional_protocol_params?: unknown };
    destination_channel?: Channel;
    connected_channel?: Channel;
    bridge?: Bridge;
  };
  referred_by: { source_channel: Channel; connected_channel?: Channel; bridge?: Bridge };
}
export interface Dial extends AriEventBase {
  type: 'Dial';
  caller?: Channel;
  peer: Channel;
  forward?: string;
  forwarded?: Channel;
  dialstring?: string;
  dialstatus: string;
}
export interface BridgeCreated extends AriEventBase {
  type: 'BridgeCreated';
  bridge: Bridge;
}
export interface BridgeDestroyed extends AriEventBase {
  type: 'BridgeDestroyed';
  bridge: Bridge;
}
export interface PlaybackStarted extends AriEventBase {
  type: 'PlaybackStarted';
  playback: Playback;
}
export interface PlaybackContinuing extends AriEventBase {
  type: 'PlaybackContinuing';
  playback: Playback;
}
export interface PlaybackFinished extends AriEventBase {
  type: 'PlaybackFinished';
  playback: Playback;
}
export interface RecordingStarted extends AriEventBase {
  type: 'RecordingStarted';
  recording: LiveRecording;
}
export interface RecordingFinished extends AriEventBase {
  type: 'RecordingFinished';
  recording: LiveRecording;
}
export interface RecordingFailed extends AriEventBase {
  type: 'RecordingFailed';
  recording: LiveRecording;
}
export interface ApplicationReplaced extends AriEventBase {
  type: 'ApplicationReplaced';
}

/** The events we type. Others still arrive, as {@link AriAnyEvent}. */
export type AriEvent =
  | StasisStart
  | StasisEnd
  | ChannelCreated
  | ChannelStateChange
  | ChannelDtmfReceived
  | ChannelHangupRequest
  | ChannelDestroyed
  | ChannelVarset
  | ChannelDialplan
  | ChannelEnteredBridge
  | ChannelLeftBridge
  | ChannelHold
  | ChannelUnhold
  | ChannelTalkingStarted
  | ChannelTalkingFinished
  | ChannelTransfer
  | Dial
  | BridgeCreated
  | BridgeDestroyed
  | PlaybackStarted
  | PlaybackContinuing
  | PlaybackFinished
  | RecordingStarted
  | RecordingFinished
  | RecordingFailed
  | ApplicationReplaced;

export type AriEventType = AriEvent['type'];

export type AriEventOf<K extends AriEventType> = Extract<AriEvent, { type: K }>;

/** Any event as received, typed or not. */
export type AriAnyEvent = AriEventBase & Record<string, unknown>;
