import type { VoicemailNode } from '../types.js';
import type { NodeHandler } from './node-handler.js';

/** voicemail: ends the IVR by recording a message of at most `maxSeconds` (default 120). */
export const voicemailHandler: NodeHandler<VoicemailNode> = {
  type: 'voicemail',
  terminal: true,
  fields: ['mailbox', 'maxSeconds', 'beep', 'prompts'],
  check(c) {
    c.str('mailbox', { template: true });
    c.int('maxSeconds', { min: 5, max: 3600 });
    c.bool('beep');
    c.prompts('prompts');
  },
  enter: (node, rt) => ({
    kind: 'end',
    prompts: node.prompts ?? [],
    action: { type: 'voicemail', mailbox: rt.render(node.mailbox), maxLengthMs: (node.maxSeconds ?? 120) * 1000, beep: node.beep ?? true },
  }),
};
