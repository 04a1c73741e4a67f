const check = {
  type: 'object',
  properties: { name: { type: 'string' }, up: { type: 'boolean' }, latencyMs: { type: 'number' }, detail: { type: 'string' } },
} as const;

export const readinessReply = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    checks: {
      type: 'object',
      properties: { mysql: check, redis: check, asterisk: { type: 'array', items: check } },
    },
  },
} as const;

export const livenessReply = {
  type: 'object',
  properties: { status: { type: 'string' }, uptimeSeconds: { type: 'number' } },
} as const;
