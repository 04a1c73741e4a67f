import { IDENTITY_CHANNELS } from '../../domain/customer.js';

const customerId = { type: 'string', pattern: '^[1-9][0-9]{0,18}$', description: 'Customer id (digits)' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const timeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

export const idParams = { type: 'object', required: ['id'], properties: { id: customerId } } as const;
export const mergeParams = { type: 'object', required: ['mergeId'], properties: { mergeId: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } } } as const;
export const suggestionParams = { type: 'object', required: ['suggestionId'], properties: { suggestionId: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } } } as const;

export const lookupQuery = {
  type: 'object',
  additionalProperties: false,
  description: 'Exactly one of `phone` and `email`. The address is normalised as resolution does (a national number gets IPCC_CUSTOMER_DEFAULT_COUNTRY_CODE).',
  properties: {
    phone: { type: 'string', minLength: 1, maxLength: 64, description: 'A phone number in any common form (+34 600 111 222, 0034600111222, 600111222); also finds SMS identities' },
    email: { type: 'string', minLength: 1, maxLength: 320 },
  },
} as const;

export const threadQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    before: { type: 'string', minLength: 1, maxLength: 100, description: 'The `next` of the previous page, or an ISO 8601 instant: interactions that started strictly before it' },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
} as const;

export const patchBody = {
  type: 'object',
  required: ['displayName'],
  additionalProperties: false,
  properties: { displayName: { type: ['string', 'null'], maxLength: 200, description: 'null or empty clears it' } },
} as const;

export const identityBody = {
  type: 'object',
  required: ['channel', 'address'],
  additionalProperties: false,
  properties: {
    channel: { type: 'string', enum: IDENTITY_CHANNELS },
    address: { type: 'string', minLength: 1, maxLength: 320, description: 'Phone number, email address, webchat visitor id or WeChat OpenID; normalised before it is stored' },
    verified: { type: 'boolean', default: false, description: 'Proven to be this customer (a confirmed email, a logged-in user); only verified claims lead to merge suggestions on a conflict' },
  },
} as const;

export const mergeBody = {
  type: 'object',
  required: ['otherId', 'reason'],
  additionalProperties: false,
  properties: {
    otherId: { ...customerId, description: 'The customer merged into this one (this one survives)' },
    reason: { type: 'string', minLength: 1, maxLength: 500 },
  },
} as const;

export const undoBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
} as const;

const identity = {
  type: 'object',
  properties: {
    id: { type: 'string' }, channel: { type: 'string', enum: IDENTITY_CHANNELS }, address: { type: 'string' }, verified: { type: 'boolean' },
    verifiedAt: timeOrNull, firstSeenAt: time, lastSeenAt: time,
  },
} as const;

export const customerReply = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    displayName: { type: ['string', 'null'] },
    createdAt: time,
    updatedAt: time,
    mergedInto: { type: ['string', 'null'], description: 'Set when merged into another customer: its identities and thread are that one\'s now' },
    identities: { type: 'array', items: identity },
    interactionsCount: { type: 'integer' },
    lastInteractionAt: timeOrNull,
  },
} as const;

export const lookupReply = { type: 'object', properties: { items: { type: 'array', items: customerReply } } } as const;

export const identityReply = { type: 'object', properties: { created: { type: 'boolean' }, identity, customer: customerReply } } as const;

export const threadReply = {
  type: 'object',
  properties: {
    customerId: { type: 'string', description: 'Whose thread this is (the survivor, if the asked-for customer was merged)' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          interactionId: { type: 'string' }, channel: { type: 'string' }, startedAt: time, answeredAt: timeOrNull, endedAt: timeOrNull,
          queueId: { type: ['string', 'null'] }, firstQueueId: { type: ['string', 'null'] }, agentId: { type: ['string', 'null'] }, outcome: { type: ['string', 'null'] },
          queueMs: { type: ['integer', 'null'] }, talkMs: { type: ['integer', 'null'] }, holdMs: { type: ['integer', 'null'] }, transfers: { type: ['integer', 'null'] },
        },
      },
    },
    next: { type: ['string', 'null'], description: 'Pass as `before` for the next (older) page; null on the last page' },
  },
} as const;

export const mergeReply = {
  type: 'object',
  properties: {
    id: { type: 'string' }, survivorId: { type: 'string' }, mergedId: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, mergedAt: time,
    undoneAt: timeOrNull, undoneBy: { type: ['string', 'null'] }, undoReason: { type: ['string', 'null'] },
    movedIdentities: { type: 'integer' }, movedInteractions: { type: 'integer' },
  },
} as const;

export const suggestionsReply = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' }, customerId: { type: 'string' }, otherId: { type: 'string' }, reason: { type: 'string' }, channel: { type: 'string' }, address: { type: 'string' },
          seen: { type: 'integer' }, createdAt: time, lastSeenAt: time,
        },
      },
    },
  },
} as const;
