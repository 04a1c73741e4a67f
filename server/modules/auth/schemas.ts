import { ROLES, USER_ROLES } from '../../domain/principal.js';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable machine-readable error code' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

export const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

export const loginReply = {
  type: 'object',
  required: ['token', 'expiresAt', 'user'],
  properties: {
    token: { type: 'string' },
    expiresAt: { type: 'string', format: 'date-time' },
    user: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        username: { type: 'string' },
        roles: { type: 'array', items: { type: 'string', enum: USER_ROLES } },
      },
    },
  },
} as const;

export const principalReply = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['user', 'api_key'] },
    id: { type: 'string' },
    tenantId: { type: 'integer' },
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string', enum: ROLES } },
  },
} as const;

export const createApiKeyBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[\\w .:@-]+$' },
    roles: { type: 'array', minItems: 1, maxItems: 5, uniqueItems: true, items: { type: 'string', enum: ROLES }, default: ['integration'] },
  },
} as const;

const apiKeyProps = {
  id: { type: 'string' },
  name: { type: 'string' },
  roles: { type: 'array', items: { type: 'string' } },
  createdAt: { type: 'string' },
  lastUsedAt: { type: ['string', 'null'] },
  revokedAt: { type: ['string', 'null'] },
} as const;

export const apiKeyCreatedReply = {
  type: 'object',
  properties: { ...apiKeyProps, key: { type: 'string', description: 'The key itself; shown once, store it now' } },
} as const;

export const apiKeyListReply = {
  type: 'object',
  properties: { items: { type: 'array', items: { type: 'object', properties: apiKeyProps } } },
} as const;

export const keyIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } },
} as const;
