const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } as const;

export const callParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
export const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 128 } } } as const;
export const runParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    queueId: id,
    agentId: id,
    callId: { type: 'string', minLength: 1, maxLength: 64 },
    state: { type: 'string', enum: ['recording', 'done', 'failed', 'deleted'] },
    from: { type: 'string', format: 'date-time', description: 'Recordings that started at or after this instant' },
    to: { type: 'string', format: 'date-time', description: 'Recordings that started before this instant' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    after: { type: 'string', minLength: 1, maxLength: 300, description: 'The `next` cursor of the previous page' },
  },
} as const;

const window = { type: 'object', properties: { startMs: { type: 'integer' }, endMs: { type: ['integer', 'null'] } } } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const recording = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    callId: { type: 'string' },
    server: { type: 'string' },
    queueId: { type: ['string', 'null'] },
    agentId: { type: ['string', 'null'] },
    agents: { type: 'array', items: { type: 'string' } },
    customerNumber: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    endedAt: nullableTime,
    durationMs: { type: ['integer', 'null'], description: 'Length of the bridged call by the server clock' },
    mediaSeconds: { type: ['integer', 'null'], description: 'Length of the file as the media server reported it' },
    state: { type: 'string', enum: ['recording', 'done', 'failed', 'deleted'] },
    paused: { type: 'boolean' },
    pauses: { type: 'array', items: window, description: 'PCI pauses in ms from the start of the recording (silence in the file); endMs null while paused' },
    deletedAt: nullableTime,
    deletedReason: { type: ['string', 'null'] },
    url: { type: ['string', 'null'], description: 'Where to play it (GET, Range supported)' },
  },
} as const;

export const listReply = { type: 'object', properties: { items: { type: 'array', items: recording }, next: { type: ['string', 'null'] } } } as const;

export const pciReply = {
  type: 'object',
  properties: { callId: { type: 'string' }, recording: { type: 'string' }, paused: { type: 'boolean' }, offsetMs: { type: 'integer' }, pauses: { type: 'array', items: window } },
} as const;

const run = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    trigger: { type: 'string', enum: ['schedule', 'manual'] },
    requestedBy: { type: 'string' },
    requestedAt: { type: 'string', format: 'date-time' },
    startedAt: nullableTime,
    finishedAt: nullableTime,
    state: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
    deleted: { type: 'integer' },
    failed: { type: 'integer', description: 'Recordings the media server could not delete now (the next run tries again)' },
    remaining: { type: ['integer', 'null'], description: 'Recordings past retention this run has still to go' },
    plan: { description: 'The cutoffs this run applied' },
    error: { type: ['string', 'null'] },
  },
} as const;

export const runReply = run;
export const queuedRunReply = { type: 'object', properties: { id: { type: 'string' }, state: { type: 'string' } } } as const;
export const retentionReply = {
  type: 'object',
  properties: {
    retentionDays: { type: 'integer', description: 'IPCC_RECORDING_RETENTION_DAYS; 0 keeps recordings forever' },
    everyMinutes: { type: 'integer', description: 'IPCC_RECORDING_RETENTION_EVERY_MINUTES; 0: only runs asked for here' },
    queues: { type: 'array', items: { type: 'object', properties: { queueId: { type: 'string' }, days: { type: 'integer' } } }, description: 'Queues with their own retention' },
    lastRun: { anyOf: [run, { type: 'null' }] },
  },
} as const;
