import type { HangupNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** hangup: plays its prompts (if any) and ends the call. */
export const hangupHandler: NodeHandler<HangupNode> = {
  type: 'hangup',
  terminal: true,
  fields: ['reason', 'prompts'],
  check(c) {
    c.str('reason', { required: false });
    c.prompts('prompts');
  },
  enter: (node) => ({ kind: 'end', prompts: node.prompts ?? [], action: { type: 'hangup', reason: node.reason ?? 'normal' } }),
};
