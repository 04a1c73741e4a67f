import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line: credentials, tokens and the
 * personal data (phone numbers, addresses) that calls and messages carry.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'caller',
  '*.caller',
  'callerId',
  '*.callerId',
  'phone',
  '*.phone',
  'from',
  '*.from',
  'to',
  '*.to',
  'email',
  '*.email',
  'caller.number',
  'connected.number',
  '*.caller.number',
  '*.connected.number',
];

export interface LoggerConfig {
  level: string;
  pretty?: boolean;
}

/** The one logger factory. Children carry ids: `log.child({ callId })`. */
export function createLogger(config: LoggerConfig, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing, for unit tests of code that takes a logger. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

type LogFn = {
  (obj: object, msg?: string): void;
  (msg: string): void;
};

/**
 * The logging surface the code depends on: satisfied by a pino logger and by
 * Fastify's request/app loggers alike.
 */
export interface Log {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Log;
}
