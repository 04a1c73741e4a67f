/** JSON schemas of the SIP login API. */

export const agentParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'The agent id (PUT /v1/agents/:id)' } },
} as const;

/** The user name follows from the agent and the password is generated; a phone at a fixed address may be named. */
export const putBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    contact: {
      type: 'string', maxLength: 255, pattern: '^sips?:[^\\s<>;,]+(;[^\\s<>,]+)?$',
      description: 'A fixed SIP URI of the phone (a desk phone or gateway that does not register), e.g. sip:desk12@10.0.4.12:5060. Without it the phone registers with the credentials.',
    },
  },
} as const;

const common = {
  agentId: { type: 'string' },
  username: { type: 'string', description: 'SIP user name (and PJSIP endpoint id) the phone registers with' },
  contact: { type: 'string', description: 'The fixed SIP URI Asterisk dials, when the phone does not register' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
} as const;

export const credentialsReply = {
  type: 'object',
  required: ['agentId', 'username', 'password'],
  additionalProperties: false,
  properties: {
    ...common,
    password: { type: 'string', description: 'Digest password; shown only in this reply' },
  },
} as const;

export const loginReply = {
  type: 'object',
  required: ['agentId', 'username'],
  additionalProperties: false,
  properties: {
    ...common,
    registered: { type: 'boolean', description: 'The phone is registered and reachable now; absent when Asterisk did not answer' },
  },
} as const;
