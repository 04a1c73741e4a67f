import type { AppError } from '../server/domain/errors.js';
import { FLOW_ERROR, flowError } from './errors.js';
import type { CheckScope, Edge } from './nodes/check.js';
import { NodeChecker } from './nodes/check.js';
import { NODE_TYPES, handlerFor, isNodeType } from './nodes/index.js';
import { templateProblem } from './template.js';
import type { Flow } from './types.js';

/** What validation needs to know about the installation. */
export interface FlowValidationContext {
  /** Sound names that exist (TTS text is always known). Omitted: sound names are not checked. */
  readonly knownSounds?: Iterable<string>;
  /** Business calendar ids that exist. Omitted: calendar references are not checked. */
  readonly calendarIds?: Iterable<string>;
}

export const FLOW_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const NODE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const TOP_FIELDS = ['id', 'name', 'description', 'version', 'start', 'defaultLanguage', 'nodes', 'prompts'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a flow document (parsed from JSON or YAML) and returns every
 * problem found, each an `invalid` AppError with a stable code and, when a
 * node is at fault, `details.node`. An empty list means the flow may be
 * published. Checks: shape and fields of every node, unknown node types,
 * targets that name no node, nodes unreachable from `start`, loops from
 * which no terminal node can be reached, unknown prompts and sounds,
 * malformed patterns, placeholders and URLs, unknown calendars.
 */
export function validateFlow(doc: unknown, ctx: FlowValidationContext = {}): AppError[] {
  const errors: AppError[] = [];
  if (!isObject(doc)) return [flowError(FLOW_ERROR.invalidFlow, 'a flow must be an object', { field: '(root)' })];
  const top = (field: string, message: string): void => {
    errors.push(flowError(FLOW_ERROR.invalidFlow, `${field}: ${message}`, { field }));
  };
  for (const k of Object.keys(doc)) if (!TOP_FIELDS.includes(k)) errors.push(flowError(FLOW_ERROR.unknownField, `unknown field "${k}"`, { field: k }));
  if (typeof doc.id !== 'string' || !FLOW_ID.test(doc.id)) top('id', 'must be 1-64 letters, digits, _ . -');
  if (typeof doc.name !== 'string' || doc.name.length === 0) top('name', 'must be a non-empty string');
  if (doc.description !== undefined && typeof doc.description !== 'string') top('description', 'must be a string');
  if (doc.version !== undefined && !(typeof doc.version === 'number' && Number.isInteger(doc.version) && doc.version >= 1)) {
    top('version', 'must be an integer ≥ 1');
  }
  if (doc.defaultLanguage !== undefined && (typeof doc.defaultLanguage !== 'string' || doc.defaultLanguage.length === 0)) {
    top('defaultLanguage', 'must be a language code');
  }
  const promptTable = checkPromptTable(doc.prompts, errors);
  if (!isObject(doc.nodes) || Object.keys(doc.nodes).length === 0) {
    top('nodes', 'must be an object with at least one node');
    return errors;
  }
  const nodes = doc.nodes;
  const ids = Object.keys(nodes);

  const scope: CheckScope = {
    promptTable,
    knownSounds: ctx.knownSounds === undefined ? undefined : new Set(ctx.knownSounds),
    calendarIds: ctx.calendarIds === undefined ? undefined : new Set(ctx.calendarIds),
  };
  const edges = new Map<string, Edge[]>();
  const terminal = new Set<string>();
  /** Nodes whose exits are unknown because of their own errors; the loop check does not blame them twice. */
  const unsure = new Set<string>();
  for (const id of ids) {
    const raw = nodes[id];
    if (!NODE_ID.test(id)) errors.push(flowError(FLOW_ERROR.invalidNodeId, 'node ids are 1-64 letters, digits, _ . -', { node: id }));
    if (!isObject(raw)) {
      errors.push(flowError(FLOW_ERROR.invalidField, 'a node must be an object', { node: id }));
      unsure.add(id);
      continue;
    }
    if (!isNodeType(raw.type)) {
      errors.push(
        flowError(FLOW_ERROR.unknownNodeType, `unknown node type ${JSON.stringify(raw.type)} (known: ${NODE_TYPES.join(', ')})`, {
          node: id,
          field: 'type',
          type: raw.type,
        }),
      );
      unsure.add(id);
      // Its real edges are unknown; node-like values keep their targets from being called unreachable.
      edges.set(id, Object.entries(raw).flatMap(([field, v]) => (typeof v === 'string' && v !== raw.type && Object.prototype.hasOwnProperty.call(nodes, v) ? [{ field, target: v }] : [])));
      continue;
    }
    const handler = handlerFor(raw.type);
    const checker = new NodeChecker(id, raw, scope, errors);
    const before = errors.length;
    for (const k of Object.keys(raw)) {
      if (k !== 'type' && k !== 'label' && !handler.fields.includes(k)) checker.issue(FLOW_ERROR.unknownField, k, `unknown field for a ${raw.type} node`);
    }
    if (raw.label !== undefined && typeof raw.label !== 'string') checker.issue(FLOW_ERROR.invalidField, 'label', 'must be a string');
    handler.check(checker);
    if (errors.length > before) unsure.add(id);
    if (handler.terminal) terminal.add(id);
    edges.set(id, checker.edges);
  }

  const exists = (id: string): boolean => Object.prototype.hasOwnProperty.call(nodes, id);
  for (const [id, list] of edges) {
    for (const e of list) {
      if (!exists(e.target)) {
        errors.push(flowError(FLOW_ERROR.missingTarget, `${e.field}: no node "${e.target}"`, { node: id, field: e.field, target: e.target }));
        unsure.add(id);
      }
    }
  }
  const next = (id: string): string[] => (edges.get(id) ?? []).map((e) => e.target).filter(exists);

  if (typeof doc.start !== 'string' || !exists(doc.start)) {
    errors.push(flowError(FLOW_ERROR.missingStart, 'start must name a node', { field: 'start', target: doc.start }));
    return errors;
  }

  const reachable = reach([doc.start], next);
  for (const id of ids) {
    if (!reachable.has(id)) errors.push(flowError(FLOW_ERROR.unreachableNode, 'cannot be reached from start', { node: id }));
  }

  // Nodes from which the call can end: terminal nodes and everything leading to them.
  const reverse = new Map<string, string[]>();
  for (const id of ids) for (const t of next(id)) reverse.set(t, [...(reverse.get(t) ?? []), id]);
  const canEnd = reach([...terminal, ...unsure], (id) => reverse.get(id) ?? []);
  const doomed = ids.filter((id) => reachable.has(id) && !canEnd.has(id));
  const doomedSet = new Set(doomed);
  const within = (id: string): string[] => next(id).filter((t) => doomedSet.has(t));
  const reported = new Set<string>();
  for (const id of doomed) {
    if (reported.has(id)) continue;
    const fromId = reach(within(id), within);
    if (!fromId.has(id)) continue; // leads into a loop but is not on one; the loop is reported
    const cycle = doomed.filter((o) => o === id || (fromId.has(o) && reach(within(o), within).has(id)));
    for (const o of cycle) reported.add(o);
    errors.push(
      flowError(FLOW_ERROR.loopWithoutExit, `loop ${cycle.join(' → ')} never reaches a hang-up, queue, transfer, voicemail or callback`, {
        node: id,
        cycle,
      }),
    );
  }
  return errors;
}

function reach(from: readonly string[], next: (id: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...from];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const t of next(id)) if (!seen.has(t)) pending.push(t);
  }
  return seen;
}

function checkPromptTable(table: unknown, errors: AppError[]): CheckScope['promptTable'] {
  if (table === undefined) return undefined;
  const bad = (field: string, message: string): void => {
    errors.push(flowError(FLOW_ERROR.invalidFlow, `${field}: ${message}`, { field }));
  };
  if (!isObject(table)) {
    bad('prompts', 'must map prompt ids to languages');
    return undefined;
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, entry] of Object.entries(table)) {
    if (!isObject(entry) || Object.keys(entry).length === 0) {
      bad(`prompts.${id}`, 'must map at least one language to {sound} or {tts}');
      continue;
    }
    for (const [lang, source] of Object.entries(entry)) {
      const keys = isObject(source) ? Object.keys(source) : [];
      const value = isObject(source) ? source[keys[0] ?? ''] : undefined;
      if (keys.length !== 1 || !['sound', 'tts'].includes(keys[0] ?? '') || typeof value !== 'string' || value.length === 0) {
        bad(`prompts.${id}.${lang}`, 'must be {sound: name} or {tts: text}');
      } else if (keys[0] === 'tts' && templateProblem(value) !== undefined) {
        errors.push(flowError(FLOW_ERROR.badTemplate, `prompts.${id}.${lang}: ${templateProblem(value) ?? ''}`, { field: `prompts.${id}.${lang}` }));
      }
    }
    out[id] = entry;
  }
  return out;
}

/** Validates and, when valid, returns the document typed as a flow. */
export function parseFlow(
  doc: unknown,
  ctx: FlowValidationContext = {},
): { readonly ok: true; readonly flow: Flow } | { readonly ok: false; readonly errors: readonly AppError[] } {
  const errors = validateFlow(doc, ctx);
  return errors.length === 0 ? { ok: true, flow: doc as Flow } : { ok: false, errors };
}
