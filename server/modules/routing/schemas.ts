import { CHANNELS } from '../../domain/channel.js';
import { ROUTING_STRATEGIES } from '../../domain/queue.js';

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'Lower-case id chosen by the admin, e.g. sales-en' } },
} as const;

const time = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$' } as const;
const range = { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: time, to: time } } as const;
const ranges = { type: 'array', maxItems: 12, items: range } as const;
const groups = { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } } as const;
const skillRef = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } as const;

export const skillBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, description: { type: 'string', maxLength: 1000 } },
} as const;

export const calendarBody = {
  type: 'object',
  required: ['name', 'timeZone', 'weekly'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    timeZone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA zone (Europe/Berlin) or fixed offset (+02:00)' },
    weekly: {
      type: 'object',
      additionalProperties: false,
      properties: { mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges, sat: ranges, sun: ranges },
    },
    holidays: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['date'],
        additionalProperties: false,
        properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }, name: { type: 'string', maxLength: 200 }, hours: ranges },
      },
    },
  },
} as const;

export const queueBody = {
  type: 'object',
  required: ['name', 'strategy', 'serviceLevel'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    strategy: { type: 'string', enum: ROUTING_STRATEGIES },
    skills: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        required: ['skillId', 'minLevel'],
        additionalProperties: false,
        properties: { skillId: skillRef, minLevel: { type: 'integer', minimum: 1, maximum: 10 }, weight: { type: 'number', minimum: 0, maximum: 100 } },
      },
    },
    agentGroups: groups,
    serviceLevel: {
      type: 'object',
      required: ['percent', 'withinSeconds'],
      additionalProperties: false,
      properties: { percent: { type: 'number', exclusiveMinimum: 0, maximum: 100 }, withinSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 86400 } },
    },
    maxWaitSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 604800 },
    overflowQueueId: skillRef,
    calendarId: skillRef,
    relaxation: {
      type: 'array',
      maxItems: 20,
      items: {
        type: 'object',
        required: ['afterSeconds'],
        additionalProperties: false,
        properties: { afterSeconds: { type: 'number', exclusiveMinimum: 0 }, minLevelDelta: { type: 'integer', minimum: 0, maximum: 9 }, addAgentGroups: groups },
      },
    },
    offerTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
    wrapUpSeconds: { type: 'integer', minimum: 0, maximum: 3600, description: 'After-call work: the agent takes no new work for this long after a task of this queue (they may end it early)' },
    dispositions: {
      type: 'array',
      maxItems: 100,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
      description: 'Disposition codes agents choose from at the end of a task; empty: any code',
    },
    voice: {
      type: 'object',
      additionalProperties: false,
      description: 'What callers of this queue hear and may do while they wait.',
      properties: {
        announceEverySeconds: { type: 'integer', minimum: 10, maximum: 3600, description: 'Tell each waiting caller their place and the estimated wait this often (absent: never)' },
        callbackKey: { type: 'string', pattern: '^[0-9*#]$', description: 'A waiting caller who presses this key is called back and keeps the place in the queue (needs IPCC_OUTBOUND_DIAL); announced with the position' },
        onMaxWait: { type: 'string', enum: ['message', 'voicemail'], description: 'After maxWaitSeconds without overflowQueueId: a message and hang-up (default), or a voicemail into the queue\'s mailbox' },
        maxWaitSound: { type: 'string', pattern: '^[A-Za-z0-9_/.-]{1,128}$', description: 'Sound played before hanging up at max wait (default please-try-call-later)' },
        closedSound: { type: 'string', pattern: '^[A-Za-z0-9_/.-]{1,128}$', description: 'Sound played to callers when the queue is closed (default please-try-call-later)' },
      },
    },
    recording: {
      type: 'object',
      required: ['mode'],
      additionalProperties: false,
      description: 'Which bridged calls of this queue are recorded (default: always). `percent` records that share of calls, chosen by a hash of the call id (the same call always gets the same answer). `retentionDays` overrides IPCC_RECORDING_RETENTION_DAYS for this queue (0: keep forever).',
      properties: {
        mode: { type: 'string', enum: ['always', 'never', 'percent'] },
        percent: { type: 'number', minimum: 0, maximum: 100, description: 'Only with mode percent; counted in hundredths' },
        retentionDays: { type: 'integer', minimum: 0, maximum: 36500 },
      },
    },
  },
} as const;

export const agentBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    userId: { type: 'string', pattern: '^[1-9][0-9]{0,19}$' },
    skills: {
      type: 'array',
      maxItems: 200,
      items: {
        type: 'object',
        required: ['skillId', 'level'],
        additionalProperties: false,
        properties: { skillId: skillRef, level: { type: 'integer', minimum: 1, maximum: 10 } },
      },
    },
    agentGroups: groups,
    capacity: { type: 'integer', minimum: 1, maximum: 10000 },
    channelCosts: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(CHANNELS.map((c) => [c, { type: 'integer', minimum: 1, maximum: 10000 }])),
    },
    channels: { type: 'array', uniqueItems: true, items: { type: 'string', enum: CHANNELS } },
  },
} as const;

/** Replies echo the stored document plus id and version. */
export const docReply = { type: 'object', additionalProperties: true } as const;
export const listReply = { type: 'object', properties: { items: { type: 'array', items: { type: 'object', additionalProperties: true } } } } as const;
