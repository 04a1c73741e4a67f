import { evaluateCondition } from '../conditions.js';
import { FLOW_ERROR } from '../errors.js';
import type { BranchNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** branch: the first case whose condition holds, else `default`. */
export const branchHandler: NodeHandler<BranchNode> = {
  type: 'branch',
  terminal: false,
  fields: ['cases', 'default'],
  check(c) {
    const cases = c.node.cases;
    if (!Array.isArray(cases)) {
      c.issue(FLOW_ERROR.invalidField, 'cases', 'must be a list of {when, next}');
    } else {
      cases.forEach((k: unknown, i) => {
        const item = (typeof k === 'object' && k !== null ? k : {}) as Record<string, unknown>;
        if (Object.keys(item).some((f) => f !== 'when' && f !== 'next')) {
          c.issue(FLOW_ERROR.unknownField, `cases[${i}]`, 'has fields other than when and next');
        }
        c.condition(`cases[${i}].when`, item.when);
        c.target(`cases[${i}].next`, true, item.next);
      });
    }
    c.target('default');
  },
  enter(node, rt) {
    const scope = { read: rt.read, calendars: rt.env.calendars, now: rt.now };
    const hit = node.cases.findIndex((k) => evaluateCondition(k.when, scope));
    const chosen = hit < 0 ? undefined : node.cases[hit];
    return chosen === undefined
      ? { kind: 'next', next: node.default, outcome: 'default' }
      : { kind: 'next', next: chosen.next, outcome: `case:${hit}` };
  },
};
