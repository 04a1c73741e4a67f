import type { Scalar, SetNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** set: variables from literals or placeholders (`"{{account}}"`). */
export const setHandler: NodeHandler<SetNode> = {
  type: 'set',
  terminal: false,
  fields: ['values', 'next'],
  check(c) {
    c.scalarMap('values', 'userVar', true);
    c.target('next');
  },
  enter(node, rt) {
    const set: Record<string, Scalar> = {};
    for (const [k, v] of Object.entries(node.values)) set[k] = typeof v === 'string' ? rt.render(v) : v;
    return { kind: 'next', next: node.next, outcome: 'next', effects: { set } };
  },
};
