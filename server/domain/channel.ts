/**
 * A medium through which a customer reaches us. Every {@link Task} travels on
 * exactly one channel; an Interaction may hop between them.
 */
export type Channel = 'voice' | 'video' | 'chat' | 'wechat' | 'sms' | 'email';

/** All channels, in a fixed order (indexes are used as bit positions by the router). */
export const CHANNELS: readonly Channel[] = ['voice', 'video', 'chat', 'wechat', 'sms', 'email'];

const CHANNEL_INDEX: Readonly<Record<Channel, number>> = {
  voice: 0,
  video: 1,
  chat: 2,
  wechat: 3,
  sms: 4,
  email: 5,
};

export const isChannel = (value: unknown): value is Channel =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(CHANNEL_INDEX, value);

/** Stable position of a channel in {@link CHANNELS}. */
export const channelIndex = (channel: Channel): number => CHANNEL_INDEX[channel];

/** Real-time channels have a person waiting on the line; ring-all applies only to them. */
export const isRealTimeChannel = (channel: Channel): boolean => channel === 'voice' || channel === 'video';
