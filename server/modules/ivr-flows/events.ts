/** Events of IVR flow administration. */
export interface IvrFlowEvents {
  'ivr.flow_published': { tenantId: number; flowId: string; version: number };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends IvrFlowEvents {}
}
