import type { CollectNode } from '../types.js';
import { FLOW_ERROR } from '../errors.js';
import type { NodeHandler } from './node-handler.js';
import { GATHER_DEFAULTS, gatherBase } from './node-handler.js';

/** Longest entry a collect node may ask for. */
export const MAX_COLLECT_LENGTH = 64;

/**
 * collect: digits into `variable`. The entry ends at the terminator, at
 * `maxLength`, or after `interDigitTimeoutMs` of silence; it must have
 * `minLength`..`maxLength` digits and match `pattern`.
 */
export const collectHandler: NodeHandler<CollectNode> = {
  type: 'collect',
  terminal: false,
  fields: [
    'prompts',
    'interruptible',
    'timeoutMs',
    'retries',
    'invalidPrompts',
    'noInputPrompts',
    'variable',
    'minLength',
    'maxLength',
    'terminator',
    'pattern',
    'interDigitTimeoutMs',
    'mask',
    'next',
    'noInput',
    'invalid',
  ],
  check(c) {
    c.gatherOptions(false);
    c.userVar('variable', c.node.variable);
    const min = c.int('minLength', { min: 1, max: MAX_COLLECT_LENGTH });
    const max = c.int('maxLength', { required: true, min: 1, max: MAX_COLLECT_LENGTH });
    if (min !== undefined && max !== undefined && min > max) c.issue(FLOW_ERROR.invalidField, 'minLength', 'must not exceed maxLength');
    c.oneOf('terminator', ['#', '*', null]);
    if (c.node.pattern !== undefined) c.regex('pattern', c.node.pattern);
    c.int('interDigitTimeoutMs', { min: 500, max: 60_000 });
    c.bool('mask');
    c.target('next');
    c.target('noInput');
    c.target('invalid', false);
  },
  enter: () => ({ kind: 'gather' }),
  gatherSpec: (node) => ({
    ...gatherBase(node),
    interDigitTimeoutMs: node.interDigitTimeoutMs ?? GATHER_DEFAULTS.interDigitTimeoutMs,
    mode: {
      kind: 'digits',
      min: node.minLength ?? 1,
      max: node.maxLength,
      terminator: node.terminator === undefined ? '#' : (node.terminator ?? undefined),
      pattern: node.pattern,
    },
    mask: node.mask ?? false,
  }),
  onGathered: (node, digits) => ({ kind: 'next', next: node.next, outcome: 'collected', effects: { set: { [node.variable]: digits } } }),
  onGatherFailed: (node, reason) => ({
    kind: 'next',
    next: reason === 'invalid' ? (node.invalid ?? node.noInput) : node.noInput,
    outcome: reason,
  }),
};
