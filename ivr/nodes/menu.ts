import type { MenuNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';
import { gatherBase } from './node-handler.js';

/** menu: one key per choice; after the retries, `noInput` or `invalid` (default `noInput`). */
export const menuHandler: NodeHandler<MenuNode> = {
  type: 'menu',
  terminal: false,
  fields: ['prompts', 'interruptible', 'timeoutMs', 'retries', 'invalidPrompts', 'noInputPrompts', 'choices', 'noInput', 'invalid'],
  check(c) {
    c.gatherOptions(true);
    c.keyMap('choices', 'target', true);
    c.target('noInput');
    c.target('invalid', false);
  },
  enter: () => ({ kind: 'gather' }),
  gatherSpec: (node) => {
    const base = gatherBase(node);
    return { ...base, interDigitTimeoutMs: base.timeoutMs, mode: { kind: 'choice', keys: Object.keys(node.choices) }, mask: false };
  },
  onGathered: (node, key) => ({ kind: 'next', next: node.choices[key] ?? node.noInput, outcome: 'choice' }),
  onGatherFailed: (node, reason) => ({
    kind: 'next',
    next: reason === 'invalid' ? (node.invalid ?? node.noInput) : node.noInput,
    outcome: reason,
  }),
};
