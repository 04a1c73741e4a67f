import type { RouterDecision } from '../../acd/decisions.js';

/** Events of the ACD runtime on the in-process bus (the realtime gateway forwards them to desktops). */
export interface AcdEvents {
  'acd.decision': { tenantId: number; decision: RouterDecision };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends AcdEvents {}
}
