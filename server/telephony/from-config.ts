import type { Config } from '../../config/index.js';
import type { Logger } from '../infra/logger.js';
import type { TelephonyPort } from '../infra/plugins/resources.js';
import { createAriCallControl, type CallControl } from './call-control.js';
import { createAgentEndpoints, type AgentEndpoints } from './endpoints.js';
import { createTelephony } from './telephony.js';

/** The ARI connections and call control of every configured Asterisk, or nothing without telephony. */
export interface TelephonyParts {
  port?: TelephonyPort;
  calls?: CallControl;
  agentEndpoints?: AgentEndpoints;
  /** Runs `fn` after every (re)connect of an Asterisk server; returns an unsubscribe. */
  onServerUp?: (fn: () => void) => () => void;
}

export function telephonyFromConfig(config: Config, logger: Logger): TelephonyParts {
  if (config.asterisk.servers.length === 0) return {};
  const telephony = createTelephony({
    servers: config.asterisk.servers,
    app: config.asterisk.app,
    logger,
    requestTimeoutMs: config.asterisk.requestTimeoutMs,
    connections: config.asterisk.connections,
  });
  return {
    port: {
      start: async () => telephony.start(),
      stop: () => telephony.stop({ timeoutMs: Math.min(5000, config.shutdownTimeoutMs) }),
      health: () => telephony.health(),
    },
    calls: createAriCallControl(telephony, logger),
    agentEndpoints: createAgentEndpoints({ servers: () => telephony.servers(), logger }),
    onServerUp: (fn) =>
      telephony.onConnectionChange((c) => {
        if (c.up) fn();
      }),
  };
}
