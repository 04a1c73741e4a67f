/** The telephony layer's public surface: the only place the server touches ARI. */
export { createTelephony } from './telephony.js';
export type { AsteriskServerConfig, Telephony, TelephonyHealth, TelephonyOptions } from './telephony.js';
export { createAriClient } from './ari-client.js';
export type { AriClient, AriClientOptions, AriConnectionState, ConnectionChange } from './ari-client.js';
export { ARI_ERROR } from './ari-errors.js';
export type * from './ari-types.js';
