import { AGENT_ID_PATTERN } from '../../domain/sip-endpoint.js';
import { SUPERVISION_MODES } from '../../domain/supervision.js';

const mode = { type: 'string', enum: [...SUPERVISION_MODES], description: 'listen: hear both sides, heard by nobody; whisper: hear both sides, heard by the agent only; barge: join the call, heard by everyone' } as const;

export const callParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64, description: "The call's id" } } } as const;
export const sessionParams = {
  type: 'object',
  required: ['id', 'sessionId'],
  properties: { id: callParams.properties.id, sessionId: { type: 'string', pattern: '^[a-z0-9]{1,32}$' } },
} as const;

export const startBody = {
  type: 'object',
  additionalProperties: false,
  required: ['mode', 'phone'],
  properties: {
    mode,
    phone: {
      description:
        "The phone to ring for the supervisor: `{agentId}` rings that agent's SIP login (a supervisor working from an agent's desk phone), " +
        '`{endpoint}` rings a SIP endpoint configured on the media server by its name (e.g. a desk phone that is no agent\'s).',
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['agentId'], properties: { agentId: { type: 'string', pattern: AGENT_ID_PATTERN.source } } },
        { type: 'object', additionalProperties: false, required: ['endpoint'], properties: { endpoint: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$' } } },
      ],
    },
    ringSeconds: { type: 'integer', minimum: 2, maximum: 120, description: "How long the supervisor's phone rings (default 20)" },
  },
} as const;

export const switchBody = { type: 'object', additionalProperties: false, required: ['mode'], properties: { mode } } as const;

const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

export const session = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    callId: { type: 'string' },
    agentId: { type: ['string', 'null'], description: 'The supervised agent' },
    mode: mode,
    state: { type: 'string', enum: ['ringing', 'active', 'ended'] },
    phone: { type: 'object', properties: { agentId: { type: 'string' }, endpoint: { type: 'string' } } },
    by: { type: 'string', description: 'Who started it' },
    startedAt: { type: 'string', format: 'date-time' },
    answeredAt: nullableTime,
    endedAt: nullableTime,
    endReason: {
      type: ['string', 'null'],
      enum: ['stopped', 'no_answer', 'ring_failed', 'supervisor_hung_up', 'call_ended', 'agent_left', 'media_failed', 'lost', 'shutdown', null],
    },
  },
} as const;

export const sessionList = { type: 'object', properties: { items: { type: 'array', items: session } } } as const;
