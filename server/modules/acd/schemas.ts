import { CHANNELS } from '../../domain/channel.js';

const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } as const;

export const newTaskBody = {
  type: 'object',
  required: ['queueId', 'channel'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$', description: 'Your id for the task; sending the same task again is a harmless retry' },
    queueId: id,
    channel: { type: 'string', enum: CHANNELS },
    priority: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
    requiredSkills: {
      type: 'array',
      maxItems: 20,
      items: { type: 'object', required: ['skillId', 'minLevel'], additionalProperties: false, properties: { skillId: id, minLevel: { type: 'integer', minimum: 1, maximum: 10 }, weight: { type: 'number', minimum: 0 } } },
    },
    interactionId: { type: 'string', minLength: 1, maxLength: 64 },
    preferredAgentId: id,
    preferredForSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
  },
} as const;

/**
 * A task id in a path: yours (as created) or one of the server's own, which may hold `~` (a
 * call's task after a transfer into a queue or a consultation is `<call>~<n>`), so the agent who
 * takes such a call can fetch it, release it and give it a disposition. `~` stays out of the ids
 * you create, keeping the two apart.
 */
export const taskIdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:~-]{0,79}$' } } } as const;
export const agentIdParams = { type: 'object', required: ['id'], properties: { id } } as const;
export const offerParams = {
  type: 'object',
  required: ['id', 'offerId', 'answer'],
  properties: { id, offerId: { type: 'string', minLength: 3, maxLength: 200 }, answer: { type: 'string', enum: ['accept', 'decline'] } },
} as const;
export const releaseParams = { type: 'object', required: ['id', 'taskId'], properties: { id, taskId: taskIdParams.properties.id } } as const;

export const presenceBody = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['offline', 'ready', 'not_ready'] },
    reason: { type: 'string', minLength: 1, maxLength: 64, description: 'Required with not_ready (break, lunch, training …)' },
  },
  if: { properties: { kind: { const: 'not_ready' } } },
  then: { required: ['kind', 'reason'] },
} as const;

export const ewtQuery = {
  type: 'object',
  required: ['channel'],
  additionalProperties: false,
  properties: { channel: { type: 'string', enum: CHANNELS }, priority: { type: 'integer', minimum: 0, maximum: 10, default: 0 } },
} as const;

export const anyObject = { type: 'object', additionalProperties: true } as const;
export const accepted = { type: 'object', properties: { accepted: { type: 'boolean' } } } as const;

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: { type: 'string', pattern: '^\\d{1,16}-\\d{1,10}$' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
} as const;

export const dispositionBody = {
  type: 'object',
  required: ['code'],
  additionalProperties: false,
  properties: { code: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }, notes: { type: 'string', maxLength: 4000 } },
} as const;
