import { USER_ROLES } from '../../domain/principal.js';

const roles = { type: 'array', minItems: 1, maxItems: 4, uniqueItems: true, items: { type: 'string', enum: USER_ROLES } } as const;

export const userReply = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    disabled: { type: 'boolean' },
    createdAt: { type: 'string' },
  },
} as const;

export const createUserBody = {
  type: 'object',
  required: ['username', 'password', 'roles'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 2, maxLength: 64, pattern: '^[a-zA-Z0-9][a-zA-Z0-9._@-]*$' },
    password: { type: 'string', minLength: 12, maxLength: 256 },
    displayName: { type: 'string', minLength: 1, maxLength: 200 },
    roles,
  },
} as const;

export const updateUserBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    password: { type: 'string', minLength: 12, maxLength: 256 },
    displayName: { type: 'string', minLength: 1, maxLength: 200 },
    roles,
    disabled: { type: 'boolean' },
  },
} as const;

export const userIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,19}$' } },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    after: { type: 'string', pattern: '^[0-9]{1,20}$' },
  },
} as const;

export const userListReply = {
  type: 'object',
  properties: { items: { type: 'array', items: userReply }, next: { type: 'string' } },
} as const;
