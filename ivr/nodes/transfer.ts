import { FLOW_ERROR } from '../errors.js';
import { hasPlaceholder } from '../template.js';
import type { TransferNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** Digits with an optional leading +, as dialled. */
export const EXTERNAL_NUMBER = /^\+?[0-9*#]{2,32}$/;

/**
 * transfer: ends the IVR with a transfer to an external number. A number
 * built from placeholders that turns out malformed hangs up instead (reason
 * `invalid_transfer_number`) rather than dialling garbage.
 */
export const transferHandler: NodeHandler<TransferNode> = {
  type: 'transfer',
  terminal: true,
  fields: ['number', 'timeoutMs', 'prompts'],
  check(c) {
    const number = c.str('number', { template: true });
    if (number !== undefined && !hasPlaceholder(number) && !EXTERNAL_NUMBER.test(number.replace(/[\s-]/g, ''))) {
      c.issue(FLOW_ERROR.invalidField, 'number', 'must be digits with an optional leading +');
    }
    c.int('timeoutMs', { min: 1000, max: 300_000 });
    c.prompts('prompts');
  },
  enter(node, rt) {
    const number = rt.render(node.number).replace(/[\s-]/g, '');
    const prompts = node.prompts ?? [];
    if (!EXTERNAL_NUMBER.test(number)) return { kind: 'end', prompts, action: { type: 'hangup', reason: 'invalid_transfer_number' } };
    return { kind: 'end', prompts, action: { type: 'transfer', number, timeoutMs: node.timeoutMs ?? 30_000 } };
  },
};
