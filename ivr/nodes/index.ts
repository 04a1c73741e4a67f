import type { FlowNode, NodeType } from '../types.js';
import { branchHandler } from './branch.js';
import { callbackHandler } from './callback.js';
import { collectHandler } from './collect.js';
import { hangupHandler } from './hangup.js';
import { httpHandler } from './http.js';
import { languageHandler } from './language.js';
import { menuHandler } from './menu.js';
import type { NodeHandler } from './node-handler.js';
import { playHandler } from './play.js';
import { queueHandler } from './queue.js';
import { setHandler } from './set.js';
import { transferHandler } from './transfer.js';
import { voicemailHandler } from './voicemail.js';

type HandlerTable = { readonly [T in NodeType]: NodeHandler<Extract<FlowNode, { type: T }>> };

const HANDLERS: HandlerTable = {
  play: playHandler,
  menu: menuHandler,
  collect: collectHandler,
  branch: branchHandler,
  http: httpHandler,
  set: setHandler,
  language: languageHandler,
  queue: queueHandler,
  callback: callbackHandler,
  voicemail: voicemailHandler,
  transfer: transferHandler,
  hangup: hangupHandler,
};

/** Every node type, in a stable order. */
export const NODE_TYPES = Object.keys(HANDLERS) as NodeType[];

export const isNodeType = (t: unknown): t is NodeType => typeof t === 'string' && Object.prototype.hasOwnProperty.call(HANDLERS, t);

/** The handler of a node type; the table keeps each handler paired with its own node type. */
export function handlerFor(type: NodeType): NodeHandler {
  return HANDLERS[type] as unknown as NodeHandler;
}
