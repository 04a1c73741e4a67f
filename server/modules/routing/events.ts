/** Events the routing configuration publishes; the router reloads on them. */
export interface RoutingConfigEvents {
  'routing.config_changed': { tenantId: number; version: number; what: string };
}

declare module '../../infra/events.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DomainEvents extends RoutingConfigEvents {}
}
