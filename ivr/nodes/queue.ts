import type { QueueNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';
import { ROUTING_FIELDS, resolvePriority, resolveSkills } from './routing.js';

/** queue: ends the IVR with `route_to_queue`, priority and skills taken from the context. */
export const queueHandler: NodeHandler<QueueNode> = {
  type: 'queue',
  terminal: true,
  fields: ROUTING_FIELDS,
  check(c) {
    c.str('queue', { template: true });
    c.routing();
    c.prompts('prompts');
  },
  enter: (node, rt) => ({
    kind: 'end',
    prompts: node.prompts ?? [],
    action: {
      type: 'route_to_queue',
      queueId: rt.render(node.queue),
      priority: resolvePriority(node.priority, rt),
      requiredSkills: resolveSkills(node.skills, rt),
    },
  }),
};
