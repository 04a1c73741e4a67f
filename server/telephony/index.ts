/** The telephony layer's public surface: the only place the server touches ARI. */
export { createTelephony } from './telephony.js';
export type { AsteriskServerConfig, Telephony, TelephonyHealth, TelephonyOptions } from './telephony.js';
export { createAriClient } from './ari-client.js';
export type { AriClient, AriClientOptions, AriConnectionState, ConnectionChange } from './ari-client.js';
export { ARI_ERROR } from './ari-errors.js';
export type * from './ari-types.js';
export { createAriCallControl } from './call-control.js';
export type { CallControl, CallEvent } from './call-control.js';
export { createAgentEndpoints } from './endpoints.js';
export type { AgentEndpoints, AgentEndpointsOptions, AgentEndpointState, ReconcileReport, RegistrationChange } from './endpoints.js';
