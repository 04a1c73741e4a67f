import type { Flow, IvrContext, Scalar } from './types.js';

/** Variables the engine provides; user variables cannot contain a dot, so these never clash. */
export const SYSTEM_VARS: readonly string[] = ['caller.number', 'caller.dialed', 'language', 'flow.id', 'flow.version'];

const USER_VAR = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

const RESERVED = new Set(['language', '__proto__', 'constructor', 'prototype']);

/** Whether `name` can be set by a flow (set, collect, data dip). */
export const isUserVar = (name: string): boolean => USER_VAR.test(name) && !RESERVED.has(name);

/** Whether `name` can be read in a placeholder or a condition. */
export const isReadableVar = (name: string): boolean => USER_VAR.test(name) || SYSTEM_VARS.includes(name);

export const hasPlaceholder = (text: string): boolean => text.includes('{{');

/** Why a template is malformed, or undefined when it is fine. */
export function templateProblem(text: string): string | undefined {
  const stripped = text.replace(PLACEHOLDER, (_m, name: string) => (isReadableVar(name) ? '' : `\u0000${name}`));
  const bad = /\u0000([^\u0000]*)/.exec(stripped);
  if (bad !== null) return `unknown variable "${bad[1] ?? ''}" in a placeholder`;
  if (stripped.includes('{{') || stripped.includes('}}')) return 'unbalanced {{ }}';
  return undefined;
}

/** Reads a variable (user or system) from the context; undefined when unset. */
export function readVar(flow: Flow, context: IvrContext, name: string): Scalar | undefined {
  switch (name) {
    case 'caller.number':
      return context.callerNumber;
    case 'caller.dialed':
      return context.dialedNumber;
    case 'language':
      return context.language;
    case 'flow.id':
      return flow.id;
    case 'flow.version':
      return flow.version;
    default:
      return Object.prototype.hasOwnProperty.call(context.vars, name) ? context.vars[name] : undefined;
  }
}

/** Replaces placeholders; unset variables become ''. `encode` is applied to each value (URL parts). */
export function render(text: string, read: (name: string) => Scalar | undefined, encode?: (s: string) => string): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    const v = read(name);
    const s = v === undefined || v === null ? '' : String(v);
    return encode === undefined ? s : encode(s);
  });
}
