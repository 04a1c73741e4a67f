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
