export const entryParams = {
  type: 'object',
  required: ['entry'],
  properties: { entry: { type: 'string', pattern: '^[+]?[0-9A-Za-z*#_.-]{1,64}$', description: 'The dialled number (DID) or extension as it reaches Stasis' } },
} as const;

export const entryBody = {
  type: 'object',
  description: 'Where calls to this number go: a queue (`queueId`) or an IVR flow (`flowId`, its published version), exactly one of them.',
  additionalProperties: false,
  properties: {
    queueId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
    flowId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
  },
  oneOf: [{ required: ['queueId'] }, { required: ['flowId'] }],
} as const;

export const callParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
export const anyObject = { type: 'object', additionalProperties: true } as const;

export const agentParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } } } as const;
export const interactionParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/** Where a transfer or consultation goes: exactly one of an agent, a queue or an outside number. */
export const targetBody = {
  type: 'object',
  description: 'The target: `agentId` (that agent, falling back to the queue if it does not answer in time), `queueId`, or `number` (an outside number through the configured trunk).',
  additionalProperties: false,
  properties: {
    agentId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
    queueId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
    number: { type: 'string', pattern: '^[+]?[0-9]{2,32}$' },
  },
  oneOf: [{ required: ['agentId'] }, { required: ['queueId'] }, { required: ['number'] }],
} as const;

export const callView = {
  type: 'object',
  additionalProperties: true,
  properties: {
    callId: { type: 'string' }, interactionId: { type: 'string' }, state: { type: 'string' }, queueId: { type: ['string', 'null'] }, agentId: { type: ['string', 'null'] },
    onHold: { type: 'boolean' }, muted: { type: 'boolean' }, transfers: { type: 'integer' },
  },
} as const;

export const callbackBody = {
  type: 'object',
  required: ['queueId', 'number'],
  additionalProperties: false,
  properties: {
    queueId: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' },
    number: { type: 'string', pattern: '^[+]?[0-9]{2,32}$', description: 'The number to call back, through the outside line' },
    interactionId: { type: 'string', minLength: 1, maxLength: 64, description: 'The interaction the callback continues (e.g. the chat that asked for it)' },
    priority: { type: 'integer', minimum: 0, maximum: 100 },
  },
} as const;
export const callbackParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 80 } } } as const;
export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { state: { type: 'string', pattern: '^[a-z_]{1,16}$' }, mailbox: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
} as const;
