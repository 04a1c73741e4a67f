import type { BusinessCalendar } from '../server/domain/calendar.js';
import type { SkillRequirement } from '../server/domain/skill.js';

/** A value a flow variable can hold. */
export type Scalar = string | number | boolean | null;

/** What a prompt is made of: a recorded sound (by name, without extension) or text spoken by TTS. */
export type PromptSource = { readonly sound: string } | { readonly tts: string };

/**
 * A prompt as a node names it: an entry of the flow's prompt table (resolved in
 * the caller's language), a sound by name, or TTS text. TTS text may contain
 * `{{variable}}` placeholders.
 */
export type PromptRef = { readonly prompt: string } | PromptSource;

/** The flow's prompt table: prompt id → language → source. */
export type PromptTable = Readonly<Record<string, Readonly<Record<string, PromptSource>>>>;

/** Comparison operators of a branch condition on a variable. */
export type ConditionOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'in' | 'prefix' | 'matches' | 'set' | 'unset';

/**
 * A branch condition. Variables are user variables (`account`) or system ones
 * (`caller.number`, `caller.dialed`, `language`, `flow.id`, `flow.version`).
 * `open` is true while the named business calendar is open (holidays included);
 * `holiday` is true on a holiday date of that calendar.
 */
export type Condition =
  | { readonly var: string; readonly op: ConditionOp; readonly value?: Scalar | readonly Scalar[] }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition }
  | { readonly open: string }
  | { readonly holiday: string };

interface NodeBase {
  /** Free text for people reading the flow. */
  readonly label?: string;
}

/** Plays prompts, then goes to `next`. An interruptible prompt is cut by a digit, which is kept for the next node. */
export interface PlayNode extends NodeBase {
  readonly type: 'play';
  readonly prompts: readonly PromptRef[];
  /** Default true. */
  readonly interruptible?: boolean;
  readonly next: string;
}

/** Options shared by the nodes that read digits. */
export interface GatherOptions {
  readonly prompts?: readonly PromptRef[];
  /** Whether a digit cuts the prompts (barge-in). Default true. */
  readonly interruptible?: boolean;
  /** Wait for the first digit after the prompts, ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts after the first one (no input and invalid input both count). Default 2. */
  readonly retries?: number;
  /** Played before the prompts on a retry after an invalid entry. */
  readonly invalidPrompts?: readonly PromptRef[];
  /** Played before the prompts on a retry after no input. */
  readonly noInputPrompts?: readonly PromptRef[];
}

/** A DTMF menu: one key per choice. After the retries, `noInput` or `invalid` (default `noInput`). */
export interface MenuNode extends NodeBase, GatherOptions {
  readonly type: 'menu';
  /** Key (0-9, *, #, A-D) → target node. */
  readonly choices: Readonly<Record<string, string>>;
  readonly noInput: string;
  readonly invalid?: string;
}

/** Collects a digit string into a variable. */
export interface CollectNode extends NodeBase, GatherOptions {
  readonly type: 'collect';
  /** User variable the digits are stored in. */
  readonly variable: string;
  /** Default 1. */
  readonly minLength?: number;
  readonly maxLength: number;
  /** Ends the entry early; not stored. Default '#'; null for none. */
  readonly terminator?: '#' | '*' | null;
  /** Regular expression the whole entry must match. */
  readonly pattern?: string;
  /** Wait between digits, ms. Default 3000. */
  readonly interDigitTimeoutMs?: number;
  /** Masks the entry in the journey (card numbers, PINs); the context still holds it. */
  readonly mask?: boolean;
  readonly next: string;
  readonly noInput: string;
  readonly invalid?: string;
}

/** Goes to the first case whose condition holds, else to `default`. */
export interface BranchNode extends NodeBase {
  readonly type: 'branch';
  readonly cases: readonly { readonly when: Condition; readonly next: string }[];
  readonly default: string;
}

/** An HTTP data dip: the shell performs the request; the result maps into variables. */
export interface HttpNode extends NodeBase {
  readonly type: 'http';
  /** Default GET. */
  readonly method?: 'GET' | 'POST';
  /** `http(s)://host/...`; placeholders only after the host, their values URL-encoded. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON body for POST; string values may hold placeholders. */
  readonly body?: Readonly<Record<string, Scalar>>;
  /** Per attempt, ms. Default 3000, at most 30000. */
  readonly timeoutMs?: number;
  /** Extra attempts after a timeout, a network error or a 5xx. Default 1. */
  readonly retries?: number;
  /** Variable → dotted path in the JSON response (`customer.tier`, `items.0.id`). */
  readonly map?: Readonly<Record<string, string>>;
  /** Variables the response must supply as scalars, else it is garbage. Default: every mapped one. */
  readonly required?: readonly string[];
  readonly next: string;
  /** Taken on timeout, error or garbage once the retries are spent. */
  readonly fallback: string;
}

/** Sets variables; string values may hold placeholders. */
export interface SetNode extends NodeBase {
  readonly type: 'set';
  readonly values: Readonly<Record<string, Scalar>>;
  readonly next: string;
}

/**
 * Sets the language used for prompts: either fixed (`language`, placeholders
 * allowed) or chosen by key (`choices`, with `default` after the retries).
 */
export interface LanguageNode extends NodeBase, GatherOptions {
  readonly type: 'language';
  readonly language?: string;
  readonly choices?: Readonly<Record<string, string>>;
  readonly default?: string;
  readonly next: string;
}

/** Skill need of a queue entry; `skill` may hold placeholders. */
export interface SkillSpec {
  readonly skill: string;
  /** 1–10, default 1. */
  readonly minLevel?: number;
}

interface EndNodeBase extends NodeBase {
  /** Played (not interruptible) before the end action. */
  readonly prompts?: readonly PromptRef[];
}

/** Ends the IVR in an ACD queue. */
export interface QueueNode extends EndNodeBase {
  readonly type: 'queue';
  readonly queue: string;
  /** A number, or a placeholder string resolving to one. Default 0. */
  readonly priority?: number | string;
  readonly skills?: readonly SkillSpec[];
}

/** Ends the IVR with a callback that keeps the caller's place in the queue. */
export interface CallbackNode extends EndNodeBase {
  readonly type: 'callback';
  readonly queue: string;
  /** Number to call back. Default `{{caller.number}}`. */
  readonly number?: string;
  readonly priority?: number | string;
  readonly skills?: readonly SkillSpec[];
}

/** Ends the IVR by recording a message. */
export interface VoicemailNode extends EndNodeBase {
  readonly type: 'voicemail';
  /** Mailbox or queue the message goes to as an interaction. */
  readonly mailbox: string;
  /** Default 120. */
  readonly maxSeconds?: number;
  /** Default true. */
  readonly beep?: boolean;
}

/** Ends the IVR by transferring to an external number. */
export interface TransferNode extends EndNodeBase {
  readonly type: 'transfer';
  /** Digits with an optional leading +; placeholders allowed. */
  readonly number: string;
  /** Ring time before giving up, ms. Default 30000. */
  readonly timeoutMs?: number;
}

/** Ends the call. */
export interface HangupNode extends EndNodeBase {
  readonly type: 'hangup';
  readonly reason?: string;
}

export type FlowNode =
  | PlayNode
  | MenuNode
  | CollectNode
  | BranchNode
  | HttpNode
  | SetNode
  | LanguageNode
  | QueueNode
  | CallbackNode
  | VoicemailNode
  | TransferNode
  | HangupNode;

export type NodeType = FlowNode['type'];

/**
 * An IVR flow document (IvrFlowVersion content). The same object whether it
 * came from JSON or YAML. `version` is set by publishing; a call keeps the
 * version it started on.
 */
export interface Flow {
  readonly id: string;
  readonly name: string;
  readonly version?: number;
  readonly start: string;
  /** Language of prompts until a language node changes it. */
  readonly defaultLanguage?: string;
  readonly nodes: Readonly<Record<string, FlowNode>>;
  readonly prompts?: PromptTable;
}

/** A prompt ready to play: the shell turns `tts` into cached 8 kHz audio. */
export type ResolvedPrompt =
  | { readonly kind: 'sound'; readonly name: string; readonly language: string | undefined }
  | { readonly kind: 'tts'; readonly text: string; readonly language: string | undefined };

/** Outcome of one data dip, kept in the context. */
export interface DipRecord {
  readonly outcome: 'ok' | 'timeout' | 'error' | 'garbage';
  readonly status?: number;
  readonly attempts: number;
}

/** Everything collected during the call; it travels with the interaction to the agent. */
export interface IvrContext {
  readonly callerNumber: string;
  readonly dialedNumber: string | undefined;
  readonly language: string | undefined;
  readonly vars: Readonly<Record<string, Scalar>>;
  /** Node ids in visit order. */
  readonly path: readonly string[];
  /** Data dip outcomes by node id (the last one per node). */
  readonly dips: Readonly<Record<string, DipRecord>>;
}

/** What the shell gives a session besides the flow. */
export interface IvrEnvironment {
  readonly callerNumber: string;
  readonly dialedNumber?: string;
  /** Business calendars by id, for `open` / `holiday` conditions. */
  readonly calendars?: Readonly<Record<string, BusinessCalendar>>;
  /** Node visits allowed in one call before the guard hangs up. Default 500. */
  readonly maxVisits?: number;
}

/** One node visit, for the journey records (analytics of where callers give up). */
export interface JourneyEntry {
  readonly flowId: string;
  readonly flowVersion: number | undefined;
  readonly nodeId: string;
  readonly nodeType: string;
  readonly enteredAt: number;
  readonly leftAt: number | undefined;
  /** What the caller entered, space-separated per attempt: `no_input`, `invalid:9`, `1` (masked as `*`). */
  readonly input: string | undefined;
  /** How the node ended: `next`, `choice`, `collected`, `no_input`, `invalid`, `ok`, `fallback`, `end`, `caller_hangup`, `guard`, `skipped`. */
  readonly outcome: string | undefined;
  readonly next: string | undefined;
}

/** Result of the shell's HTTP request. `invalid_body`: the response was not JSON. */
export type HttpResult =
  | { readonly outcome: 'ok'; readonly status: number; readonly body: unknown }
  | { readonly outcome: 'invalid_body'; readonly status: number }
  | { readonly outcome: 'error'; readonly status?: number; readonly code?: string }
  | { readonly outcome: 'timeout' };

/** Inputs to {@link step}. */
export type IvrInput =
  | { readonly type: 'start' }
  | { readonly type: 'dtmf'; readonly digit: string }
  | { readonly type: 'prompt_finished'; readonly playbackId: string }
  | { readonly type: 'timer_fired'; readonly timerId: string }
  | { readonly type: 'http_result'; readonly requestId: string; readonly result: HttpResult }
  | { readonly type: 'hangup' };

/** An HTTP request for the shell to perform. */
export interface HttpRequestAction {
  readonly type: 'http_request';
  readonly requestId: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON body (POST only). */
  readonly body: Readonly<Record<string, Scalar>> | undefined;
  readonly timeoutMs: number;
}

/** Actions that end the IVR; each carries the collected context. */
export type TerminalAction =
  | {
      readonly type: 'route_to_queue';
      readonly queueId: string;
      readonly priority: number;
      readonly requiredSkills: readonly SkillRequirement[];
      readonly context: IvrContext;
    }
  | {
      readonly type: 'offer_callback';
      readonly queueId: string;
      readonly number: string;
      readonly priority: number;
      readonly requiredSkills: readonly SkillRequirement[];
      readonly context: IvrContext;
    }
  | {
      readonly type: 'voicemail';
      readonly mailbox: string;
      readonly maxLengthMs: number;
      readonly beep: boolean;
      readonly context: IvrContext;
    }
  | { readonly type: 'transfer'; readonly number: string; readonly timeoutMs: number; readonly context: IvrContext }
  | { readonly type: 'hangup'; readonly reason: string; readonly context: IvrContext };

/** Actions returned by {@link step}, for the shell to perform in order. */
export type IvrAction =
  | {
      readonly type: 'play';
      readonly playbackId: string;
      readonly prompts: readonly ResolvedPrompt[];
      readonly interruptible: boolean;
    }
  | { readonly type: 'stop_playback'; readonly playbackId: string }
  | { readonly type: 'start_timer'; readonly timerId: string; readonly ms: number }
  | { readonly type: 'cancel_timer'; readonly timerId: string }
  | HttpRequestAction
  | TerminalAction;

/** How the session ended: by the flow (terminal action), the caller hanging up, or the loop guard. */
export interface IvrEnd {
  readonly by: 'flow' | 'caller' | 'guard';
  readonly nodeId: string | undefined;
  readonly at: number;
  readonly action: TerminalAction | undefined;
}

/** Engine state within the current node (internal; the shell stores it opaquely). */
export type IvrPhase =
  | { readonly kind: 'none' }
  | { readonly kind: 'play'; readonly next: string }
  | {
      readonly kind: 'gather';
      readonly attempt: number;
      readonly stage: 'prompt' | 'input';
      readonly digits: string;
    }
  | { readonly kind: 'http'; readonly requestId: string; readonly attempt: number }
  | { readonly kind: 'closing'; readonly action: TerminalAction };

/**
 * One call's IVR state (IvrSession). Plain data: the shell may store it as JSON.
 * It holds the flow version the call started on; to store it compactly, the
 * shell may replace `flow` by (flow.id, flow.version) and restore it on load.
 */
export interface IvrSession {
  readonly id: string;
  readonly flow: Flow;
  readonly env: IvrEnvironment;
  readonly status: 'ready' | 'running' | 'ended';
  readonly nodeId: string | undefined;
  readonly phase: IvrPhase;
  readonly context: IvrContext;
  /** Digits received but not yet consumed by a node (type-ahead), oldest first. */
  readonly typeAhead: readonly string[];
  readonly playback: { readonly id: string; readonly interruptible: boolean } | undefined;
  readonly timer: { readonly id: string } | undefined;
  /**
   * A terminator to discard if it is the next key: an entry that ended at its
   * maximum length does not leave the caller's habitual '#' to the next node
   * (until a later prompt has played to its end).
   */
  readonly dropNext: string | undefined;
  /** Counter for playback, timer and request ids. */
  readonly seq: number;
  readonly visits: number;
  readonly journey: readonly JourneyEntry[];
  /** Per-attempt inputs of the current visit, for its journey entry. */
  readonly heard: readonly string[];
  readonly end: IvrEnd | undefined;
}

/** What {@link step} returns. `closedVisits` are the journey entries completed by this step, to store. */
export interface StepResult {
  readonly session: IvrSession;
  readonly actions: readonly IvrAction[];
  readonly closedVisits: readonly JourneyEntry[];
}
