export const flowIdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } } } as const;
export const versionParams = {
  type: 'object',
  required: ['id', 'version'],
  properties: { id: flowIdParams.properties.id, version: { type: 'integer', minimum: 1 } },
} as const;
export const publishBody = { type: 'object', required: ['version'], additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 } } } as const;
/** The flow document itself is checked by the service (schema + flow rules) so errors can name nodes. */
export const flowDocument = { type: 'object', description: 'An IVR flow document (see ivr/flow-schema.ts)' } as const;
export const anyObject = { type: 'object', additionalProperties: true } as const;
