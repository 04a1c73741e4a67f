import { FLOW_ERROR } from '../errors.js';
import type { LanguageNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';
import { gatherBase } from './node-handler.js';

/**
 * language: sets the language prompts are played in, fixed (`language`, may
 * be a placeholder filled by a data dip) or by key (`choices`). When the
 * caller chooses nothing valid, `default` applies (or the language stays).
 */
export const languageHandler: NodeHandler<LanguageNode> = {
  type: 'language',
  terminal: false,
  fields: ['language', 'choices', 'default', 'prompts', 'interruptible', 'timeoutMs', 'retries', 'invalidPrompts', 'noInputPrompts', 'next'],
  check(c) {
    const fixed = c.node.language !== undefined;
    const chosen = c.node.choices !== undefined;
    if (fixed === chosen) c.issue(FLOW_ERROR.invalidField, 'language', 'give either language or choices');
    if (fixed) c.str('language', { template: true });
    if (chosen) {
      c.keyMap('choices', 'text', true);
      c.gatherOptions(true);
    }
    c.str('default', { required: false });
    c.target('next');
  },
  enter(node, rt) {
    if (node.choices === undefined) {
      const language = rt.render(node.language ?? '');
      return { kind: 'next', next: node.next, outcome: 'next', ...(language === '' ? {} : { effects: { language } }) };
    }
    return { kind: 'gather' };
  },
  gatherSpec: (node) => {
    const base = gatherBase(node);
    return { ...base, interDigitTimeoutMs: base.timeoutMs, mode: { kind: 'choice', keys: Object.keys(node.choices ?? {}) }, mask: false };
  },
  onGathered: (node, key) => {
    const language = node.choices?.[key];
    return { kind: 'next', next: node.next, outcome: 'choice', ...(language === undefined ? {} : { effects: { language } }) };
  },
  onGatherFailed: (node, reason) => ({
    kind: 'next',
    next: node.next,
    outcome: reason,
    ...(node.default === undefined ? {} : { effects: { language: node.default } }),
  }),
};
