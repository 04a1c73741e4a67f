import type {
  GatherOptions,
  DipRecord,
  Flow,
  FlowNode,
  HttpRequestAction,
  HttpResult,
  IvrContext,
  IvrEnvironment,
  PromptRef,
  Scalar,
  TerminalAction,
} from '../types.js';
import type { NodeChecker } from './check.js';

/** What a node handler may read while the call runs. */
export interface NodeRuntime {
  readonly flow: Flow;
  readonly nodeId: string;
  readonly context: IvrContext;
  readonly env: IvrEnvironment;
  readonly now: number;
  read(name: string): Scalar | undefined;
  /** Fills placeholders; `encode` is applied to each value. */
  render(text: string, encode?: (s: string) => string): string;
}

/** Changes a node makes to the context as it leaves. */
export interface Effects {
  readonly set?: Readonly<Record<string, Scalar>>;
  readonly language?: string;
  readonly dip?: DipRecord;
}

type WithoutContext<T> = T extends unknown ? Omit<T, 'context'> : never;

/** A terminal action before the engine attaches the context. */
export type TerminalBody = WithoutContext<TerminalAction>;

/** How a node that reads digits reads them; the engine runs prompts, timers, retries and type-ahead. */
export interface GatherSpec {
  readonly prompts: readonly PromptRef[];
  readonly interruptible: boolean;
  readonly timeoutMs: number;
  readonly interDigitTimeoutMs: number;
  readonly retries: number;
  readonly invalidPrompts: readonly PromptRef[];
  readonly noInputPrompts: readonly PromptRef[];
  readonly mode:
    | { readonly kind: 'choice'; readonly keys: readonly string[] }
    | {
        readonly kind: 'digits';
        readonly min: number;
        readonly max: number;
        readonly terminator: string | undefined;
        readonly pattern: string | undefined;
      };
  readonly mask: boolean;
}

/** What a node asks the engine to do next. */
export type Outcome =
  | { readonly kind: 'next'; readonly next: string; readonly outcome: string; readonly effects?: Effects }
  | { readonly kind: 'play'; readonly prompts: readonly PromptRef[]; readonly interruptible: boolean; readonly next: string }
  | { readonly kind: 'gather' }
  | { readonly kind: 'http'; readonly request: Omit<HttpRequestAction, 'type' | 'requestId'> }
  | { readonly kind: 'retry' }
  | { readonly kind: 'end'; readonly action: TerminalBody; readonly prompts: readonly PromptRef[] };

/**
 * One node type: its shape check (for validation) and its behaviour (for the
 * engine). Handlers are pure; the engine owns timers, playback and ids.
 */
export interface NodeHandler<N extends FlowNode = FlowNode> {
  readonly type: N['type'];
  /** Ends the IVR (hang-up, queue, transfer, voicemail, callback). */
  readonly terminal: boolean;
  /** Fields the node may have besides `type` and `label`. */
  readonly fields: readonly string[];
  /** Checks the raw node; records targets and reports problems through the checker. */
  check(c: NodeChecker): void;
  enter(node: N, rt: NodeRuntime): Outcome;
  gatherSpec?(node: N): GatherSpec;
  onGathered?(node: N, value: string, rt: NodeRuntime): Outcome;
  onGatherFailed?(node: N, reason: 'no_input' | 'invalid', rt: NodeRuntime): Outcome;
  /** `attempt` counts from 1; a `retry` outcome makes the engine send the request again. */
  onHttpResult?(node: N, result: HttpResult, attempt: number, rt: NodeRuntime): Outcome;
}

export const GATHER_DEFAULTS = { timeoutMs: 5000, interDigitTimeoutMs: 3000, retries: 2 } as const;

/** The gather options every digit-reading node shares, with defaults applied. */
export function gatherBase(node: GatherOptions): Omit<GatherSpec, 'mode' | 'mask' | 'interDigitTimeoutMs'> {
  return {
    prompts: node.prompts ?? [],
    interruptible: node.interruptible ?? true,
    timeoutMs: node.timeoutMs ?? GATHER_DEFAULTS.timeoutMs,
    retries: node.retries ?? GATHER_DEFAULTS.retries,
    invalidPrompts: node.invalidPrompts ?? [],
    noInputPrompts: node.noInputPrompts ?? [],
  };
}
