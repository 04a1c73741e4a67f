/**
 * Every setting the server reads, with its type, default and description.
 * This list is the single source of truth: the loader validates against it,
 * `ipcc config example` prints config/env.example from it, and a test checks
 * that the committed env.example matches.
 */
export type SettingType = 'string' | 'int' | 'bool' | 'enum' | 'url' | 'list' | 'servers';

export interface SettingSpec {
  /** Environment variable name. */
  env: string;
  /** Key in the optional JSON config file (dotted path). */
  key: string;
  type: SettingType;
  description: string;
  /** Default as it would be written in the environment; absent = required. */
  default?: string;
  /** For int. */
  min?: number;
  max?: number;
  /** For enum. */
  values?: readonly string[];
  /** For string: minimum length. */
  minLength?: number;
  /** For string: a non-empty value must match, described by `patternHint` in the error. */
  pattern?: RegExp;
  patternHint?: string;
  /** Never printed or logged. */
  secret?: boolean;
}

export const SETTINGS = [
  { env: 'IPCC_TENANT', key: 'tenant', type: 'string', default: 'default', minLength: 1,
    description: 'Name of the default tenant. Every row carries a tenant id; a single-organisation install uses one tenant.' },
  { env: 'IPCC_HTTP_HOST', key: 'http.host', type: 'string', default: '127.0.0.1', minLength: 1,
    description: 'Address the HTTP API listens on. Bind to loopback behind a reverse proxy that terminates TLS.' },
  { env: 'IPCC_HTTP_PORT', key: 'http.port', type: 'int', default: '8080', min: 0, max: 65535,
    description: 'Port the HTTP API listens on (0 picks a free port).' },
  { env: 'IPCC_HTTP_BODY_LIMIT', key: 'http.bodyLimit', type: 'int', default: '1048576', min: 1024, max: 104857600,
    description: 'Largest accepted request body in bytes; larger bodies get 413 payload_too_large.' },
  { env: 'IPCC_HTTP_TRUST_PROXY', key: 'http.trustProxy', type: 'bool', default: 'false',
    description: 'Trust X-Forwarded-For from a reverse proxy (needed for per-address login throttling behind a proxy).' },
  { env: 'IPCC_LOG_LEVEL', key: 'log.level', type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info',
    description: 'Log level. Logs are JSON lines on stdout; phone numbers, addresses and secrets are redacted.' },
  { env: 'IPCC_MYSQL_URL', key: 'mysql.url', type: 'url', default: 'mysql://root@127.0.0.1:3306/ipcc', secret: true,
    description: 'MariaDB/MySQL connection URL (mysql://user:password@host:port/database). The database is created by `ipcc migrate` if the user may.' },
  { env: 'IPCC_MYSQL_POOL_SIZE', key: 'mysql.poolSize', type: 'int', default: '10', min: 1, max: 500,
    description: 'Connections in the MariaDB pool.' },
  { env: 'IPCC_MIGRATE_ON_START', key: 'mysql.migrateOnStart', type: 'bool', default: 'false',
    description: 'Apply pending migrations at start-up (under a database lock, so several starting processes do not race).' },
  { env: 'IPCC_REDIS_URL', key: 'redis.url', type: 'url', default: 'redis://127.0.0.1:6379/0', secret: true,
    description: 'Redis URL for live ACD state, throttling and job queues.' },
  { env: 'IPCC_REDIS_PREFIX', key: 'redis.prefix', type: 'string', default: 'ipcc:', minLength: 1,
    description: 'Prefix of every Redis key this installation writes, so several installations can share one Redis.' },
  { env: 'IPCC_AUTH_TOKEN_SECRET', key: 'auth.tokenSecret', type: 'string', minLength: 32, secret: true,
    description: 'Secret (at least 32 characters) that signs login tokens. Required; generate with `openssl rand -hex 32`. All server processes of one installation share it.' },
  { env: 'IPCC_AUTH_TOKEN_TTL', key: 'auth.tokenTtlSeconds', type: 'int', default: '900', min: 60, max: 86400,
    description: 'Lifetime of a login token in seconds; clients log in again (or refresh) when it expires.' },
  { env: 'IPCC_AUTH_MAX_FAILURES', key: 'auth.maxFailures', type: 'int', default: '5', min: 1, max: 1000,
    description: 'Failed logins allowed per user name (and per client address, times four) within the throttle window before further attempts get 429.' },
  { env: 'IPCC_AUTH_THROTTLE_WINDOW', key: 'auth.throttleWindowSeconds', type: 'int', default: '300', min: 1, max: 86400,
    description: 'Throttle window for failed logins, in seconds.' },
  { env: 'IPCC_ASTERISK_SERVERS', key: 'asterisk.servers', type: 'servers', default: '',
    description: 'Asterisk servers to drive over ARI, comma separated NAME=URL with credentials, e.g. main=http://ipcc:secret@127.0.0.1:8088. Empty runs without telephony.', secret: true },
  { env: 'IPCC_ARI_APP', key: 'asterisk.app', type: 'string', default: 'ipcc', minLength: 1,
    description: 'Stasis application name; the dialplan enters Stasis(<this>,inbound,${EXTEN}).' },
  { env: 'IPCC_ARI_REQUEST_TIMEOUT', key: 'asterisk.requestTimeoutMs', type: 'int', default: '5000', min: 100, max: 60000,
    description: 'Timeout of one ARI REST request in milliseconds.' },
  { env: 'IPCC_ARI_CONNECTIONS', key: 'asterisk.connections', type: 'int', default: '64', min: 1, max: 512,
    description: 'HTTP connections of the ARI REST pool, per Asterisk server. Asterisk serves each connection on one thread, one request at a time, and many requests wait for a channel to act; too few connections make calls queue for a connection under load. Keep the server processes times this below sessionlimit in http.conf.' },
  { env: 'IPCC_OUTBOUND_DIAL', key: 'voice.outboundDial', type: 'string', default: '', pattern: /^[A-Za-z]+\/\S*\{number\}\S*$/, patternHint: 'a dial string with {number}, e.g. PJSIP/{number}@carrier',
    description: 'How to call an outside number (transfers, callbacks): a dial string with {number}, e.g. PJSIP/{number}@carrier for a PJSIP trunk named carrier. Empty: outside numbers cannot be called.' },
  { env: 'IPCC_OUTBOUND_RING_SECONDS', key: 'voice.outboundRingSeconds', type: 'int', default: '30', min: 5, max: 300,
    description: 'How long an outside number may ring before it counts as not answered.' },
  { env: 'IPCC_AGENT_TRANSFER_WAIT_SECONDS', key: 'voice.agentTransferWaitSeconds', type: 'int', default: '30', min: 5, max: 600,
    description: 'A call transferred to an agent waits this long for that agent; then any agent of the queue may take it.' },
  { env: 'IPCC_CALLBACK_ATTEMPTS', key: 'voice.callbackAttempts', type: 'int', default: '3', min: 1, max: 20,
    description: 'Dial attempts of a callback before it counts as failed.' },
  { env: 'IPCC_CALLBACK_RETRY_SECONDS', key: 'voice.callbackRetrySeconds', type: 'int', default: '120', min: 5, max: 86400,
    description: 'Pause between two dial attempts of a callback; the customer keeps the place in the queue meanwhile.' },
  { env: 'IPCC_HOLD_BRIDGE_SHARDS', key: 'voice.holdBridgeShards', type: 'int', default: '8', min: 1, max: 64,
    description: 'Holding bridges per queue; waiting callers are spread over them by call id, each bridge with its own music. Asterisk moves one channel at a time in or out of a bridge and plays its music to every member from one thread, so with hundreds of callers in one bridge a caller waits seconds to join or leave it.' },
  { env: 'IPCC_SWEEP_SECONDS', key: 'voice.sweepSeconds', type: 'int', default: '30', min: 0, max: 3600,
    description: 'How often each Asterisk server is compared with the live calls between reconnections: a channel no call owns, a call bridge after its call, or a call whose caller is gone, found by two checks in a row, is hung up, destroyed or ended (what a request Asterisk did not answer under load leaves behind). 0 turns the check off.' },
  { env: 'IPCC_ROUTER', key: 'router.enabled', type: 'bool', default: 'true',
    description: 'Run an ACD router in this process. Every process that runs one competes for the partition lease; one routes, the others stand by and take over within the lease time if it dies.' },
  { env: 'IPCC_ROUTER_LEASE_MS', key: 'router.leaseMs', type: 'int', default: '3000', min: 500, max: 60000,
    description: 'Lease time of a router partition in milliseconds: a standby takes over at most this long (plus its rebuild) after the holder dies.' },
  { env: 'IPCC_RECORDING_RETENTION_DAYS', key: 'recording.retentionDays', type: 'int', default: '90', min: 0, max: 36500,
    description: 'Call recordings older than this many days (from the start of the recording) are deleted from the media server and marked deleted, each deletion written to the audit log; 0 keeps them forever. A queue\'s recording.retentionDays overrides it for that queue.' },
  { env: 'IPCC_RECORDING_RETENTION_EVERY_MINUTES', key: 'recording.retentionEveryMinutes', type: 'int', default: '60', min: 0, max: 10080,
    description: 'How often the recording retention job runs, in minutes (one schedule shared by all server processes); 0 runs it only when an admin asks (POST /v1/recordings/retention/runs).' },
  { env: 'IPCC_MEDIA_BASE_URL', key: 'ivr.mediaBaseUrl', type: 'string', default: '',
    description: 'How Asterisk reaches this server for IVR prompts it fetches over HTTP (TTS audio at <this>/v1/ivr/media/<hash>.wav), e.g. http://10.0.0.5:8080. Empty: http://IPCC_HTTP_HOST:IPCC_HTTP_PORT, which suits an Asterisk on the same host.' },
  { env: 'IPCC_TTS_COMMAND', key: 'ivr.ttsCommand', type: 'string', default: 'espeak-ng', minLength: 1,
    description: 'The text-to-speech program and any leading arguments, split on spaces (no shell), e.g. `espeak-ng` or `chroot /srv/root espeak-ng`. It is run as `<this> -v VOICE --stdin --stdout` and must write WAV to stdout.' },
  { env: 'IPCC_SOX_COMMAND', key: 'ivr.soxCommand', type: 'string', default: 'sox', minLength: 1,
    description: 'The sox program and any leading arguments, split on spaces (no shell); it converts TTS audio to 8 kHz mono 16-bit, which Asterisk plays without transcoding.' },
  { env: 'IPCC_TTS_CACHE_DIR', key: 'ivr.ttsCacheDir', type: 'string', default: '/tmp/ipcc-tts-cache', minLength: 1,
    description: 'Directory of rendered TTS prompts, one file per (text, language, voice), each rendered once. Safe to delete (prompts are rendered again); put it on persistent storage to keep them across restarts.' },
  { env: 'IPCC_TTS_DEFAULT_VOICE', key: 'ivr.ttsDefaultVoice', type: 'string', default: 'en', minLength: 1,
    description: 'espeak-ng voice for TTS prompts of a flow without a language; otherwise the prompt\'s language (en, fr, de, en-us ...) is the voice.' },
  { env: 'IPCC_TTS_TIMEOUT', key: 'ivr.ttsTimeoutMs', type: 'int', default: '10000', min: 100, max: 120000,
    description: 'Longest time one TTS render may take, in milliseconds; past it (or on any failure) the caller hears IPCC_TTS_FALLBACK_SOUND instead and the failure is logged.' },
  { env: 'IPCC_TTS_FALLBACK_SOUND', key: 'ivr.ttsFallbackSound', type: 'string', default: 'beep', minLength: 1,
    description: 'Asterisk sound played in place of a TTS prompt that could not be rendered, so a caller never waits in silence.' },
  { env: 'IPCC_CUSTOMER_DEFAULT_COUNTRY_CODE', key: 'customers.defaultCountryCode', type: 'string', default: '', pattern: /^[1-9][0-9]{0,2}$/, patternHint: 'a country calling code of 1 to 3 digits without + or 00, e.g. 34 or 1',
    description: 'Country calling code of national phone numbers (600111222, 0301234567) when a caller or an address is matched to a customer, so that +34 600 111 222, 0034600111222 and 600111222 are one customer. Empty: only numbers written internationally (+ or 00) are compared across forms.' },
  { env: 'IPCC_SHUTDOWN_TIMEOUT', key: 'shutdownTimeoutMs', type: 'int', default: '10000', min: 100, max: 600000,
    description: 'How long a graceful shutdown may drain requests and jobs before the process exits anyway, in milliseconds.' },
] as const satisfies readonly SettingSpec[];
