/**
 * The published JSON Schema (draft-07) of an IVR flow document. The shell
 * validates uploads against it (ajv) before {@link validateFlow} runs the
 * checks a schema cannot express: targets, reachability, loops without exit,
 * prompts and sounds, patterns and placeholders.
 */
const ref = (name: string): { $ref: string } => ({ $ref: `#/definitions/${name}` });
const str = { type: 'string', minLength: 1 } as const;
const nodeId = { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$' } as const;
const userVar = { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', not: { enum: ['language', '__proto__', 'constructor', 'prototype'] } } as const;
const dtmfKey = { type: 'string', pattern: '^[0-9*#A-D]$' } as const;
const prompts = { type: 'array', items: ref('promptRef') } as const;
const ms = (min: number, max: number): { type: 'integer'; minimum: number; maximum: number } => ({ type: 'integer', minimum: min, maximum: max });

const gatherProps = {
  prompts,
  interruptible: { type: 'boolean' },
  timeoutMs: ms(500, 120_000),
  retries: { type: 'integer', minimum: 0, maximum: 10 },
  invalidPrompts: prompts,
  noInputPrompts: prompts,
} as const;

const node = (type: string, properties: Record<string, unknown>, required: readonly string[]): Record<string, unknown> => ({
  type: 'object',
  properties: { type: { const: type }, label: { type: 'string' }, ...properties },
  required: ['type', ...required],
  additionalProperties: false,
});

const routing = {
  queue: str,
  priority: { oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', minLength: 1 }] },
  skills: {
    type: 'array',
    items: {
      type: 'object',
      properties: { skill: str, minLevel: { type: 'integer', minimum: 1, maximum: 10 } },
      required: ['skill'],
      additionalProperties: false,
    },
  },
  prompts,
} as const;

const scalar = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }] } as const;

export const flowSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'ipcc:ivr-flow',
  title: 'IVR flow',
  type: 'object',
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
    name: str,
    description: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    start: nodeId,
    defaultLanguage: str,
    nodes: {
      type: 'object',
      minProperties: 1,
      propertyNames: nodeId,
      additionalProperties: ref('node'),
    },
    prompts: {
      type: 'object',
      additionalProperties: { type: 'object', minProperties: 1, additionalProperties: ref('promptSource') },
    },
  },
  required: ['id', 'name', 'start', 'nodes'],
  additionalProperties: false,
  definitions: {
    promptSource: {
      oneOf: [
        { type: 'object', properties: { sound: str }, required: ['sound'], additionalProperties: false },
        { type: 'object', properties: { tts: str }, required: ['tts'], additionalProperties: false },
      ],
    },
    promptRef: {
      oneOf: [
        { type: 'object', properties: { prompt: str }, required: ['prompt'], additionalProperties: false },
        { type: 'object', properties: { sound: str }, required: ['sound'], additionalProperties: false },
        { type: 'object', properties: { tts: str }, required: ['tts'], additionalProperties: false },
      ],
    },
    condition: {
      oneOf: [
        {
          type: 'object',
          properties: {
            var: str,
            op: { enum: ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'prefix', 'matches', 'set', 'unset'] },
            value: { oneOf: [scalar, { type: 'array', items: scalar }] },
          },
          required: ['var', 'op'],
          additionalProperties: false,
        },
        { type: 'object', properties: { all: { type: 'array', minItems: 1, items: ref('condition') } }, required: ['all'], additionalProperties: false },
        { type: 'object', properties: { any: { type: 'array', minItems: 1, items: ref('condition') } }, required: ['any'], additionalProperties: false },
        { type: 'object', properties: { not: ref('condition') }, required: ['not'], additionalProperties: false },
        { type: 'object', properties: { open: str }, required: ['open'], additionalProperties: false },
        { type: 'object', properties: { holiday: str }, required: ['holiday'], additionalProperties: false },
      ],
    },
    node: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['play', 'menu', 'collect', 'branch', 'http', 'set', 'language', 'queue', 'callback', 'voicemail', 'transfer', 'hangup'] },
      },
      allOf: [
        ...(
          [
            ['play', ref('playNode')],
            ['menu', ref('menuNode')],
            ['collect', ref('collectNode')],
            ['branch', ref('branchNode')],
            ['http', ref('httpNode')],
            ['set', ref('setNode')],
            ['language', ref('languageNode')],
            ['queue', ref('queueNode')],
            ['callback', ref('callbackNode')],
            ['voicemail', ref('voicemailNode')],
            ['transfer', ref('transferNode')],
            ['hangup', ref('hangupNode')],
          ] as const
        ).map(([type, then]) => ({ if: { properties: { type: { const: type } } }, then })),
      ],
    },
    playNode: node('play', { prompts: { ...prompts, minItems: 1 }, interruptible: { type: 'boolean' }, next: nodeId }, ['prompts', 'next']),
    menuNode: node(
      'menu',
      {
        ...gatherProps,
        prompts: { ...prompts, minItems: 1 },
        choices: { type: 'object', minProperties: 1, propertyNames: dtmfKey, additionalProperties: nodeId },
        noInput: nodeId,
        invalid: nodeId,
      },
      ['prompts', 'choices', 'noInput'],
    ),
    collectNode: node(
      'collect',
      {
        ...gatherProps,
        variable: userVar,
        minLength: { type: 'integer', minimum: 1, maximum: 64 },
        maxLength: { type: 'integer', minimum: 1, maximum: 64 },
        terminator: { enum: ['#', '*', null] },
        pattern: str,
        interDigitTimeoutMs: ms(500, 60_000),
        mask: { type: 'boolean' },
        next: nodeId,
        noInput: nodeId,
        invalid: nodeId,
      },
      ['variable', 'maxLength', 'next', 'noInput'],
    ),
    branchNode: node(
      'branch',
      {
        cases: {
          type: 'array',
          items: { type: 'object', properties: { when: ref('condition'), next: nodeId }, required: ['when', 'next'], additionalProperties: false },
        },
        default: nodeId,
      },
      ['cases', 'default'],
    ),
    httpNode: node(
      'http',
      {
        method: { enum: ['GET', 'POST'] },
        url: { type: 'string', pattern: '^https?://[^/{}\\s?#]+([/?#].*)?$' },
        headers: { type: 'object', additionalProperties: str },
        body: { type: 'object', additionalProperties: scalar },
        timeoutMs: ms(100, 30_000),
        retries: { type: 'integer', minimum: 0, maximum: 5 },
        map: { type: 'object', propertyNames: userVar, additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$' } },
        required: { type: 'array', items: userVar },
        next: nodeId,
        fallback: nodeId,
      },
      ['url', 'next', 'fallback'],
    ),
    setNode: node('set', { values: { type: 'object', propertyNames: userVar, additionalProperties: scalar }, next: nodeId }, ['values', 'next']),
    languageNode: {
      ...node(
        'language',
        {
          ...gatherProps,
          language: str,
          choices: { type: 'object', minProperties: 1, propertyNames: dtmfKey, additionalProperties: str },
          default: str,
          next: nodeId,
        },
        ['next'],
      ),
      oneOf: [{ required: ['language'], not: { required: ['choices'] } }, { required: ['choices', 'prompts'], not: { required: ['language'] } }],
    },
    queueNode: node('queue', routing, ['queue']),
    callbackNode: node('callback', { ...routing, number: str }, ['queue']),
    voicemailNode: node(
      'voicemail',
      { mailbox: str, maxSeconds: { type: 'integer', minimum: 5, maximum: 3600 }, beep: { type: 'boolean' }, prompts },
      ['mailbox'],
    ),
    transferNode: node('transfer', { number: str, timeoutMs: ms(1000, 300_000), prompts }, ['number']),
    hangupNode: node('hangup', { reason: str, prompts }, []),
  },
} as const;
