import type { PlayNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** play: prompts, then `next`. A digit cuts an interruptible prompt and stays buffered for the next node. */
export const playHandler: NodeHandler<PlayNode> = {
  type: 'play',
  terminal: false,
  fields: ['prompts', 'interruptible', 'next'],
  check(c) {
    c.prompts('prompts', true);
    c.bool('interruptible');
    c.target('next');
  },
  enter: (node) => ({ kind: 'play', prompts: node.prompts, interruptible: node.interruptible ?? true, next: node.next }),
};
