import t from 'tap';
import { Ajv } from 'ajv';
import { flowSchema } from '../../../ivr/flow-schema.js';
import { parseFlow, validateFlow } from '../../../ivr/validate.js';
import type { AppError } from '../../../server/domain/errors.js';
import { SAMPLE_SOUNDS, loadSample } from './helpers.js';

const ajv = new Ajv({ allErrors: true });
const schemaValid = ajv.compile(flowSchema);

const base = {
  id: 'f',
  name: 'F',
  start: 'menu',
  nodes: {
    menu: { type: 'menu', prompts: [{ tts: 'Hi' }], choices: { '1': 'q' }, noInput: 'bye' },
    q: { type: 'queue', queue: 'general' },
    bye: { type: 'hangup' },
  },
} as const;

/** The base flow with nodes replaced or added (undefined removes one). */
function withNodes(nodes: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base.nodes, ...nodes };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return { ...base, nodes: merged, ...extra };
}

const summary = (errors: readonly AppError[]) => errors.map((e) => ({ code: e.code, node: e.details?.node, field: e.details?.field }));

t.test('given the sample flow when validated then it has no errors and the JSON Schema accepts it', async (t) => {
  const flow = loadSample('main-line.json');
  t.same(summary(validateFlow(flow, { knownSounds: SAMPLE_SOUNDS, calendarIds: ['main-office'] })), []);
  t.ok(schemaValid(flow), JSON.stringify(schemaValid.errors));
  const parsed = parseFlow(flow);
  t.ok(parsed.ok);
});

t.test('given a flow with a node nothing points to when validated then the error names that node', async (t) => {
  const errors = validateFlow(withNodes({ orphan: { type: 'hangup' } }));
  t.same(summary(errors), [{ code: 'ivr.unreachable_node', node: 'orphan', field: undefined }]);
  t.equal(errors[0]?.kind, 'invalid');
  t.match(errors[0]?.message, /orphan/);
});

t.test('given a target that names no node when validated then the error names the node and field', async (t) => {
  const errors = validateFlow(withNodes({ menu: { ...base.nodes.menu, choices: { '1': 'q', '2': 'nowhere' } } }));
  t.same(summary(errors), [{ code: 'ivr.missing_target', node: 'menu', field: 'choices.2' }]);
  t.equal(errors[0]?.details?.target, 'nowhere');
});

t.test('given a loop that never reaches an end when validated then the error names a node of the loop and lists it', async (t) => {
  const errors = validateFlow(
    withNodes({
      menu: { ...base.nodes.menu, choices: { '1': 'q', '2': 'a' } },
      a: { type: 'play', prompts: [{ tts: 'A' }], next: 'b' },
      b: { type: 'set', values: { x: 1 }, next: 'c' },
      c: { type: 'branch', cases: [{ when: { var: 'x', op: 'eq', value: 2 }, next: 'a' }], default: 'b' },
    }),
  );
  t.same(summary(errors), [{ code: 'ivr.loop_without_exit', node: 'a', field: undefined }]);
  t.same(errors[0]?.details?.cycle, ['a', 'b', 'c']);
});

t.test('given loops that can end when validated then they are accepted: menu retries and returns to a main menu', async (t) => {
  const errors = validateFlow(
    withNodes({
      menu: { ...base.nodes.menu, choices: { '1': 'q', '2': 'sub', '3': 'bye' }, noInput: 'menu' },
      sub: { type: 'menu', prompts: [{ tts: 'Sub' }], choices: { '9': 'menu' }, retries: 3, noInput: 'menu' },
    }),
  );
  t.same(summary(errors), []);
});

t.test('given prompts that do not exist when validated then each error names the node and the prompt or sound', async (t) => {
  const flow = withNodes(
    {
      menu: { ...base.nodes.menu, prompts: [{ prompt: 'nope' }, { prompt: 'known' }, { sound: 'missing-file' }, { tts: 'TTS is always known' }] },
    },
    { prompts: { known: { en: { sound: 'hello' }, fr: { sound: 'bonjour' } } } },
  );
  const errors = validateFlow(flow, { knownSounds: ['hello'] });
  t.same(
    errors.map((e) => [e.code, e.details?.node, e.details?.prompt ?? e.details?.sound]),
    [
      ['ivr.unknown_prompt', 'menu', 'nope'],
      ['ivr.unknown_prompt', 'menu', 'known'],
      ['ivr.unknown_prompt', 'menu', 'missing-file'],
    ],
  );
  t.equal(errors[1]?.details?.sound, 'bonjour');
  t.same(summary(validateFlow(flow, { knownSounds: ['hello', 'bonjour', 'missing-file'] })).map((e) => e.code), ['ivr.unknown_prompt'], 'only the id missing from the table remains');
});

t.test('given malformed nodes when validated then each error has a stable code naming node and field', async (t) => {
  // Last column: whether the JSON Schema alone catches it too (some checks are beyond a schema).
  const rows: [string, Record<string, unknown>, { code: string; node: string; field?: string }, boolean][] = [
    ['unknown node type', { x: { type: 'teleport', next: 'bye' } }, { code: 'ivr.unknown_node_type', node: 'x', field: 'type' }, true],
    ['bad pattern', { x: { type: 'collect', variable: 'v', maxLength: 4, pattern: '([0-9]', next: 'bye', noInput: 'bye' } }, { code: 'ivr.bad_pattern', node: 'x', field: 'pattern' }, false],
    ['bad regex in a condition', { x: { type: 'branch', cases: [{ when: { var: 'caller.number', op: 'matches', value: '*+' }, next: 'bye' }], default: 'bye' } }, { code: 'ivr.bad_pattern', node: 'x', field: 'cases[0].when.value' }, false],
    ['min above max', { x: { type: 'collect', variable: 'v', minLength: 5, maxLength: 4, next: 'bye', noInput: 'bye' } }, { code: 'ivr.invalid_field', node: 'x', field: 'minLength' }, false],
    ['typo in a field', { x: { type: 'play', prompts: [{ tts: 'x' }], next: 'bye', nxt: 'bye' } }, { code: 'ivr.unknown_field', node: 'x', field: 'nxt' }, true],
    ['host from a placeholder', { x: { type: 'http', url: 'https://{{host}}/a', next: 'bye', fallback: 'bye' } }, { code: 'ivr.bad_url', node: 'x', field: 'url' }, true],
    ['unknown variable in a placeholder', { x: { type: 'play', prompts: [{ tts: 'Hi {{caller.name}}' }], next: 'bye' } }, { code: 'ivr.bad_template', node: 'x', field: 'prompts[0].tts' }, false],
    ['menu key that is not DTMF', { x: { type: 'menu', prompts: [{ tts: 'x' }], choices: { '11': 'bye' }, noInput: 'bye' } }, { code: 'ivr.invalid_field', node: 'x', field: 'choices.11' }, true],
    ['reserved variable', { x: { type: 'set', values: { language: 'fr' }, next: 'bye' } }, { code: 'ivr.invalid_field', node: 'x', field: 'values.language' }, true],
    ['static transfer number', { x: { type: 'transfer', number: 'call-me' } }, { code: 'ivr.invalid_field', node: 'x', field: 'number' }, false],
    ['language with neither form', { x: { type: 'language', next: 'bye' } }, { code: 'ivr.invalid_field', node: 'x', field: 'language' }, true],
  ];
  for (const [name, nodes, expected, schemaCatches] of rows) {
    const doc = { ...base, start: 'x', nodes: { x: nodes.x, bye: base.nodes.bye } };
    t.same(summary(validateFlow(doc)).filter((e) => e.node === 'x'), [expected], name);
    t.equal(schemaValid(doc), !schemaCatches, `${name}: schema ${schemaCatches ? 'rejects' : 'accepts'} it`);
  }
});

t.test('given a node of unknown type when validated then its node-like fields still count as edges, so no false unreachable errors', async (t) => {
  const doc = { ...base, start: 'x', nodes: { x: { type: 'teleport', next: 'bye' }, bye: base.nodes.bye } };
  t.same(summary(validateFlow(doc)), [{ code: 'ivr.unknown_node_type', node: 'x', field: 'type' }]);
});

t.test('given a calendar that does not exist when validated with the known calendars then the branch node is named', async (t) => {
  const flow = withNodes({ menu: { type: 'branch', cases: [{ when: { open: 'nowhere' }, next: 'q' }], default: 'bye' } });
  t.same(summary(validateFlow(flow, { calendarIds: ['main-office'] })), [{ code: 'ivr.unknown_calendar', node: 'menu', field: 'cases[0].when.open' }]);
  t.same(summary(validateFlow(flow)), [], 'without a calendar list the reference is not checked');
});

t.test('given a broken document when validated then top-level problems are reported, and the schema rejects them too', async (t) => {
  const rows: [unknown, string][] = [
    [null, 'ivr.invalid_flow'],
    [{ ...base, nodes: {} }, 'ivr.invalid_flow'],
    [{ ...base, start: 'ghost' }, 'ivr.missing_start'],
    [{ ...base, id: 'has space' }, 'ivr.invalid_flow'],
    [{ ...base, colour: 'red' }, 'ivr.unknown_field'],
    [{ ...base, prompts: { p: { en: { sound: 'a', tts: 'b' } } } }, 'ivr.invalid_flow'],
  ];
  for (const [doc, code] of rows) {
    t.equal(validateFlow(doc)[0]?.code, code, JSON.stringify(doc));
    if (code !== 'ivr.missing_start') t.notOk(schemaValid(doc), `schema rejects ${JSON.stringify(doc)}`);
  }
  const parsed = parseFlow({ ...base, start: 'ghost' });
  t.equal(parsed.ok, false);
});
