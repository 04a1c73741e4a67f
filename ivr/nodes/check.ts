import type { AppError } from '../../server/domain/errors.js';
import { CONDITION_OPS } from '../conditions.js';
import type { FlowErrorCode } from '../errors.js';
import { FLOW_ERROR, flowError } from '../errors.js';
import { hasPlaceholder, isReadableVar, isUserVar, templateProblem } from '../template.js';

/** DTMF keys a menu may offer. */
export const DTMF_KEYS: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

/** An outgoing edge of a node, for the graph checks. */
export interface Edge {
  readonly field: string;
  readonly target: string;
}

/** What the structural check needs from outside. */
export interface CheckScope {
  /** The raw prompt table of the flow (already checked to be an object of objects, or undefined). */
  readonly promptTable: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined;
  /** Sound names that exist; undefined skips the sound check. */
  readonly knownSounds: ReadonlySet<string> | undefined;
  /** Calendar ids that exist; undefined skips the calendar check. */
  readonly calendarIds: ReadonlySet<string> | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks one raw node field by field, reporting errors that name the node
 * and field, and recording its edges. Every reader returns the value when it
 * has the right shape, else undefined.
 */
export class NodeChecker {
  readonly edges: Edge[] = [];

  constructor(
    readonly nodeId: string,
    readonly node: Record<string, unknown>,
    private readonly scope: CheckScope,
    private readonly errors: AppError[],
  ) {}

  issue(code: FlowErrorCode, field: string | undefined, message: string, extra: Record<string, unknown> = {}): void {
    this.errors.push(flowError(code, field === undefined ? message : `${field}: ${message}`, { node: this.nodeId, field, ...extra }));
  }

  private has(field: string): boolean {
    return this.node[field] !== undefined;
  }

  private missing(field: string, required: boolean): boolean {
    if (this.has(field)) return false;
    if (required) this.issue(FLOW_ERROR.invalidField, field, 'is required');
    return true;
  }

  /** A string; `template` allows placeholders. */
  str(field: string, opts: { required?: boolean; template?: boolean } = {}): string | undefined {
    if (this.missing(field, opts.required ?? true)) return undefined;
    return this.text(field, this.node[field], opts.template ?? false);
  }

  text(field: string, v: unknown, template: boolean): string | undefined {
    if (typeof v !== 'string' || v.length === 0) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be a non-empty string');
      return undefined;
    }
    if (hasPlaceholder(v) || v.includes('}}')) {
      if (!template) {
        this.issue(FLOW_ERROR.badTemplate, field, 'placeholders are not allowed here');
        return undefined;
      }
      const problem = templateProblem(v);
      if (problem !== undefined) {
        this.issue(FLOW_ERROR.badTemplate, field, problem);
        return undefined;
      }
    }
    return v;
  }

  int(field: string, opts: { required?: boolean; min: number; max: number }): number | undefined {
    if (this.missing(field, opts.required ?? false)) return undefined;
    const v = this.node[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < opts.min || v > opts.max) {
      this.issue(FLOW_ERROR.invalidField, field, `must be an integer from ${opts.min} to ${opts.max}`);
      return undefined;
    }
    return v;
  }

  bool(field: string): void {
    if (this.has(field) && typeof this.node[field] !== 'boolean') this.issue(FLOW_ERROR.invalidField, field, 'must be true or false');
  }

  oneOf(field: string, values: readonly (string | null)[], required = false): void {
    if (this.missing(field, required)) return;
    if (!values.includes(this.node[field] as string | null)) {
      this.issue(FLOW_ERROR.invalidField, field, `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
    }
  }

  /** A target node id; recorded as an edge (existence is checked on the whole graph). */
  target(field: string, required = true, value: unknown = this.node[field]): void {
    if (value === undefined) {
      if (required) this.issue(FLOW_ERROR.invalidField, field, 'is required');
      return;
    }
    if (typeof value !== 'string' || value.length === 0) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be a node id');
      return;
    }
    this.edges.push({ field, target: value });
  }

  /** A user variable name (set by the flow). */
  userVar(field: string, v: unknown): string | undefined {
    if (typeof v !== 'string' || !isUserVar(v)) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be a variable name (letters, digits, _; not "language")');
      return undefined;
    }
    return v;
  }

  /** A regular expression, compiled to find mistakes before a caller does. */
  regex(field: string, v: unknown): void {
    if (typeof v !== 'string' || v.length === 0) {
      this.issue(FLOW_ERROR.badPattern, field, 'must be a regular expression', { pattern: v });
      return;
    }
    try {
      new RegExp(v);
    } catch {
      this.issue(FLOW_ERROR.badPattern, field, `is not a valid regular expression: ${v}`, { pattern: v });
    }
  }

  /** A list of prompt references. */
  prompts(field: string, required = false): void {
    if (this.missing(field, required)) return;
    const v = this.node[field];
    if (!Array.isArray(v) || (required && v.length === 0)) {
      this.issue(FLOW_ERROR.invalidField, field, required ? 'must be a non-empty list of prompts' : 'must be a list of prompts');
      return;
    }
    v.forEach((ref, i) => this.promptRef(`${field}[${i}]`, ref));
  }

  private promptRef(field: string, ref: unknown): void {
    const keys = isObject(ref) ? Object.keys(ref) : [];
    if (!isObject(ref) || keys.length !== 1 || !['prompt', 'sound', 'tts'].includes(keys[0]!)) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be exactly one of {prompt}, {sound}, {tts}');
      return;
    }
    if (ref.tts !== undefined) {
      this.text(`${field}.tts`, ref.tts, true);
      return;
    }
    if (ref.sound !== undefined) {
      const name = this.text(`${field}.sound`, ref.sound, false);
      if (name !== undefined) this.sound(field, name, undefined);
      return;
    }
    const id = this.text(`${field}.prompt`, ref.prompt, false);
    if (id === undefined) return;
    const entry = this.scope.promptTable?.[id];
    if (entry === undefined) {
      this.issue(FLOW_ERROR.unknownPrompt, field, `prompt "${id}" is not in the flow's prompt table`, { prompt: id });
      return;
    }
    for (const [lang, source] of Object.entries(entry)) {
      if (isObject(source) && typeof source.sound === 'string') this.sound(field, source.sound, { prompt: id, language: lang });
    }
  }

  private sound(field: string, name: string, where: Record<string, unknown> | undefined): void {
    if (this.scope.knownSounds === undefined || this.scope.knownSounds.has(name)) return;
    this.issue(FLOW_ERROR.unknownPrompt, field, `sound "${name}" does not exist`, { sound: name, ...where });
  }

  /** DTMF key → value map (menu targets or languages). */
  keyMap(field: string, values: 'target' | 'text', required: boolean): Record<string, unknown> | undefined {
    if (this.missing(field, required)) return undefined;
    const v = this.node[field];
    if (!isObject(v) || Object.keys(v).length === 0) {
      this.issue(FLOW_ERROR.invalidField, field, 'must map keys to values');
      return undefined;
    }
    for (const [key, value] of Object.entries(v)) {
      if (!DTMF_KEYS.includes(key)) this.issue(FLOW_ERROR.invalidField, `${field}.${key}`, 'is not a DTMF key (0-9, *, #, A-D)');
      else if (values === 'target') this.target(`${field}.${key}`, true, value);
      else this.text(`${field}.${key}`, value, false);
    }
    return v;
  }

  /** Variable → scalar (string values may hold placeholders). */
  scalarMap(field: string, keys: 'userVar' | 'any', required: boolean): void {
    if (this.missing(field, required)) return;
    const v = this.node[field];
    if (!isObject(v)) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be an object');
      return;
    }
    for (const [k, value] of Object.entries(v)) {
      if (keys === 'userVar') this.userVar(`${field}.${k}`, k);
      if (typeof value === 'string') {
        if (value.length > 0) this.text(`${field}.${k}`, value, true);
      } else if (!(value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
        this.issue(FLOW_ERROR.invalidField, `${field}.${k}`, 'must be a string, number, boolean or null');
      }
    }
  }

  /** A branch condition, recursively. */
  condition(field: string, c: unknown, depth = 0): void {
    if (!isObject(c) || depth > 16) {
      this.issue(FLOW_ERROR.invalidField, field, 'must be a condition');
      return;
    }
    if (c.all !== undefined || c.any !== undefined) {
      const list = c.all ?? c.any;
      const key = c.all !== undefined ? 'all' : 'any';
      if (!Array.isArray(list) || list.length === 0 || Object.keys(c).length !== 1) {
        this.issue(FLOW_ERROR.invalidField, `${field}.${key}`, 'must be a non-empty list of conditions, alone');
        return;
      }
      list.forEach((x, i) => this.condition(`${field}.${key}[${i}]`, x, depth + 1));
      return;
    }
    if (c.not !== undefined) {
      if (Object.keys(c).length !== 1) this.issue(FLOW_ERROR.invalidField, field, '"not" stands alone');
      this.condition(`${field}.not`, c.not, depth + 1);
      return;
    }
    const cal = c.open ?? c.holiday;
    if (cal !== undefined) {
      const key = c.open !== undefined ? 'open' : 'holiday';
      if (typeof cal !== 'string' || cal.length === 0 || Object.keys(c).length !== 1) {
        this.issue(FLOW_ERROR.invalidField, `${field}.${key}`, 'must be a calendar id, alone');
      } else if (this.scope.calendarIds !== undefined && !this.scope.calendarIds.has(cal)) {
        this.issue(FLOW_ERROR.unknownCalendar, `${field}.${key}`, `calendar "${cal}" does not exist`, { calendar: cal });
      }
      return;
    }
    if (typeof c.var !== 'string' || !isReadableVar(c.var)) {
      this.issue(FLOW_ERROR.invalidField, `${field}.var`, 'must name a variable');
      return;
    }
    const op = c.op;
    if (typeof op !== 'string' || !(CONDITION_OPS as readonly string[]).includes(op)) {
      this.issue(FLOW_ERROR.invalidField, `${field}.op`, `must be one of ${CONDITION_OPS.join(', ')}`);
      return;
    }
    const extra = Object.keys(c).filter((k) => !['var', 'op', 'value'].includes(k));
    if (extra.length > 0) this.issue(FLOW_ERROR.unknownField, field, `unknown field(s) ${extra.join(', ')}`);
    const value = c.value;
    const scalar = (x: unknown): boolean => x === null || ['string', 'number', 'boolean'].includes(typeof x);
    if (op === 'set' || op === 'unset') {
      if (value !== undefined) this.issue(FLOW_ERROR.invalidField, `${field}.value`, `"${op}" takes no value`);
    } else if (op === 'in') {
      if (!Array.isArray(value) || !value.every(scalar)) this.issue(FLOW_ERROR.invalidField, `${field}.value`, 'must be a list of values');
    } else if (op === 'matches') {
      this.regex(`${field}.value`, value);
    } else if (op === 'prefix') {
      if (typeof value !== 'string') this.issue(FLOW_ERROR.invalidField, `${field}.value`, 'must be a string');
    } else if (['lt', 'le', 'gt', 'ge'].includes(op)) {
      if (typeof value !== 'number') this.issue(FLOW_ERROR.invalidField, `${field}.value`, 'must be a number');
    } else if (value === undefined || !scalar(value)) {
      this.issue(FLOW_ERROR.invalidField, `${field}.value`, 'must be a value');
    }
  }

  /** Options shared by the digit-reading nodes. */
  gatherOptions(promptsRequired: boolean): void {
    this.prompts('prompts', promptsRequired);
    this.bool('interruptible');
    this.int('timeoutMs', { min: 500, max: 120_000 });
    this.int('retries', { min: 0, max: 10 });
    this.prompts('invalidPrompts');
    this.prompts('noInputPrompts');
  }

  /** Priority and skills of queue and callback nodes. */
  routing(): void {
    const p = this.node.priority;
    if (typeof p === 'string') this.text('priority', p, true);
    else if (p !== undefined && !(typeof p === 'number' && Number.isInteger(p) && p >= 0)) {
      this.issue(FLOW_ERROR.invalidField, 'priority', 'must be an integer ≥ 0 or a placeholder');
    }
    const skills = this.node.skills;
    if (skills === undefined) return;
    if (!Array.isArray(skills)) {
      this.issue(FLOW_ERROR.invalidField, 'skills', 'must be a list of {skill, minLevel?}');
      return;
    }
    skills.forEach((s, i) => {
      if (!isObject(s) || Object.keys(s).some((k) => k !== 'skill' && k !== 'minLevel')) {
        this.issue(FLOW_ERROR.invalidField, `skills[${i}]`, 'must be {skill, minLevel?}');
        return;
      }
      this.text(`skills[${i}].skill`, s.skill, true);
      const lvl = s.minLevel;
      if (lvl !== undefined && !(typeof lvl === 'number' && Number.isInteger(lvl) && lvl >= 1 && lvl <= 10)) {
        this.issue(FLOW_ERROR.invalidField, `skills[${i}].minLevel`, 'must be an integer from 1 to 10');
      }
    });
  }
}
