import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { buildApp } from './app.js';
import { createLogger } from './infra/logger.js';
import { telephonyFromConfig } from './telephony/from-config.js';

/**
 * Entry point: read config once, build the app, listen, and shut down
 * gracefully on SIGTERM/SIGINT (stop accepting, drain, close pools, workers and
 * ARI connections), exiting anyway after IPCC_SHUTDOWN_TIMEOUT.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\nSee config/env.example for every setting.\n`);
      process.exit(78);
    }
    throw e;
  }
  const logger = createLogger({ level: config.log.level });
  const { port: telephony, calls, agentEndpoints, onServerUp } = telephonyFromConfig(config, logger);
  const app = await buildApp(config, { logger, telephony, calls, agentEndpoints, onServerUp });

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

  await app.listen({ host: config.http.host, port: config.http.port });
}

main().catch((err: unknown) => {
  process.stderr.write(`ipcc: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
