import { MEDIA_NAME } from './tts.js';

/** The route takes any name and answers 404 for those that are not cache names (no directory to probe). */
export const mediaParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 128 } } } as const;
export const mediaNamePattern = MEDIA_NAME.source;

export const callParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
export const flowIdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } } } as const;

export const summaryQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time', description: 'Start of the period (inclusive); default: 24 hours before `to`' },
    to: { type: 'string', format: 'date-time', description: 'End of the period (exclusive); default: now' },
    version: { type: 'integer', minimum: 1, description: 'Only calls on this flow version' },
  },
} as const;

const visit = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    flowId: { type: 'string' },
    flowVersion: { type: 'integer' },
    nodeId: { type: 'string' },
    nodeType: { type: 'string' },
    enteredAt: { type: ['string', 'null'] },
    leftAt: { type: ['string', 'null'] },
    input: { type: ['string', 'null'], description: 'What the caller entered per attempt (`1`, `no_input`, `invalid:9`; masked entries as `*`)' },
    outcome: { type: ['string', 'null'] },
    next: { type: ['string', 'null'] },
  },
} as const;

export const journeyReply = {
  type: 'object',
  properties: {
    callId: { type: 'string' },
    live: { type: 'boolean', description: 'The call is in the IVR right now' },
    session: {
      type: ['object', 'null'],
      properties: {
        callId: { type: 'string' },
        flowId: { type: 'string' },
        flowVersion: { type: 'integer' },
        startedAt: { type: ['string', 'null'] },
        endedAt: { type: ['string', 'null'] },
        endedBy: { type: ['string', 'null'], description: 'flow, caller, guard or error' },
        endNode: { type: ['string', 'null'] },
        endAction: { type: ['string', 'null'] },
        context: { type: ['object', 'null'], additionalProperties: true, description: 'Inputs, data-dip outcomes and path handed on with the call (masked inputs as *)' },
      },
    },
    visits: { type: 'array', items: visit },
  },
} as const;

export const summaryReply = {
  type: 'object',
  properties: {
    flowId: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    version: { type: ['integer', 'null'] },
    sessions: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        ended: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Sessions by how they ended: the terminal action (route_to_queue, voicemail …), caller (hung up), guard, error, in_progress' },
      },
    },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          nodeId: { type: 'string' },
          nodeType: { type: 'string' },
          visits: { type: 'integer' },
          hangups: { type: 'integer', description: 'Visits that ended with the caller hanging up: where callers give up' },
          noInput: { type: 'integer' },
          invalid: { type: 'integer' },
          fallback: { type: 'integer' },
          avgMs: { type: ['integer', 'null'] },
        },
      },
    },
  },
} as const;
