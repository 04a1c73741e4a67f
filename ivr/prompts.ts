import { render } from './template.js';
import type { Flow, PromptRef, PromptSource, ResolvedPrompt, Scalar } from './types.js';

/**
 * Picks a prompt table entry in `language`, else in the flow's default
 * language, else the first one listed (so a missing translation never
 * silences a call).
 */
export function pickSource(flow: Flow, id: string, language: string | undefined): { source: PromptSource; language: string } | undefined {
  const entry = flow.prompts?.[id];
  if (entry === undefined) return undefined;
  for (const lang of [language, flow.defaultLanguage]) {
    if (lang === undefined) continue;
    const source = Object.prototype.hasOwnProperty.call(entry, lang) ? entry[lang] : undefined;
    if (source !== undefined) return { source, language: lang };
  }
  const first = Object.entries(entry)[0];
  return first === undefined ? undefined : { source: first[1], language: first[0] };
}

function fromSource(source: PromptSource, language: string | undefined, read: (name: string) => Scalar | undefined): ResolvedPrompt {
  return 'sound' in source
    ? { kind: 'sound', name: source.sound, language }
    : { kind: 'tts', text: render(source.tts, read), language };
}

/** Turns prompt references into playable prompts in the caller's language. Unknown ids are skipped (validation rejects them). */
export function resolvePrompts(
  flow: Flow,
  refs: readonly PromptRef[],
  language: string | undefined,
  read: (name: string) => Scalar | undefined,
): ResolvedPrompt[] {
  const out: ResolvedPrompt[] = [];
  for (const ref of refs) {
    if ('prompt' in ref) {
      const picked = pickSource(flow, ref.prompt, language);
      if (picked !== undefined) out.push(fromSource(picked.source, picked.language, read));
    } else {
      out.push(fromSource(ref, language ?? flow.defaultLanguage, read));
    }
  }
  return out;
}
