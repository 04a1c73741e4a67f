import type { CallbackNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';
import { ROUTING_FIELDS, resolvePriority, resolveSkills } from './routing.js';

/** callback: ends the IVR with `offer_callback`; the callback keeps the caller's place in the queue. */
export const callbackHandler: NodeHandler<CallbackNode> = {
  type: 'callback',
  terminal: true,
  fields: [...ROUTING_FIELDS, 'number'],
  check(c) {
    c.str('queue', { template: true });
    c.str('number', { required: false, template: true });
    c.routing();
    c.prompts('prompts');
  },
  enter(node, rt) {
    const number = rt.render(node.number ?? '').replace(/[\s-]/g, '');
    return {
      kind: 'end',
      prompts: node.prompts ?? [],
      action: {
        type: 'offer_callback',
        queueId: rt.render(node.queue),
        // An empty placeholder (nothing collected) falls back to the number the caller called from.
        number: number === '' ? rt.context.callerNumber : number,
        priority: resolvePriority(node.priority, rt),
        requiredSkills: resolveSkills(node.skills, rt),
      },
    };
  },
};
