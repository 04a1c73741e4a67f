import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { agentStreamRoutes } from './realtime/agent-stream.js';
import { assertActsFor } from './modules/acd/routes.js';
import type { Config } from '../config/index.js';
import { createAuditLog } from './infra/audit.js';
import { systemClock, type Clock } from './infra/clock.js';
import type { Logger } from './infra/logger.js';
import { accessPlugin } from './infra/plugins/access.js';
import { errorsPlugin } from './infra/plugins/errors.js';
import {
  eventsPlugin,
  jobsPlugin,
  mysqlPlugin,
  redisPlugin,
  telephonyPlugin,
  type TelephonyPort,
} from './infra/plugins/resources.js';
import { authRoutes } from './modules/auth/routes.js';
import { errorSchema } from './modules/auth/schemas.js';
import { createAuthService, type AuthService } from './modules/auth/service.js';
import { createAuthStore } from './modules/auth/store.js';
import { healthRoutes } from './modules/health/routes.js';
import { createHealthService } from './modules/health/service.js';
import { userRoutes } from './modules/users/routes.js';
import { routingRoutes } from './modules/routing/routes.js';
import { acdRoutes } from './modules/acd/routes.js';
import { createAcdService } from './modules/acd/service.js';
import { createAcdSqlStore } from './modules/acd/store.js';
import { createRouterRunner, type RouterRunner } from './modules/acd/router-runner.js';
import { hostname } from 'node:os';
import { createDecisionFeed } from './modules/acd/decision-feed.js';
import { voiceRoutes } from './modules/voice/routes.js';
import { createVoiceService } from './modules/voice/service.js';
import { createLiveCallStore, createVoiceStore } from './modules/voice/store.js';
import { recordingRoutes } from './modules/recordings/routes.js';
import { createRecordingService } from './modules/recordings/service.js';
import { createRecordingStore } from './modules/recordings/store.js';
import type { AgentEndpoints, CallControl } from './telephony/index.js';
import { isAppError } from './domain/errors.js';
import { agentEndpointId } from './domain/sip-endpoint.js';
import { sipLoginRoutes } from './modules/sip-logins/routes.js';
import { flowRoutes } from './modules/ivr-flows/routes.js';
import { createFlowService } from './modules/ivr-flows/service.js';
import { createFlowStore } from './modules/ivr-flows/store.js';
import { ivrRoutes } from './modules/ivr/routes.js';
import { createIvrService } from './modules/ivr/service.js';
import { createIvrStore } from './modules/ivr/store.js';
import { createTtsCache } from './modules/ivr/tts.js';
import { createSipLoginService } from './modules/sip-logins/service.js';
import { createSipLoginStore } from './modules/sip-logins/store.js';
import { supervisionRoutes } from './modules/supervision/routes.js';
import { createSupervisionService } from './modules/supervision/service.js';
import { createSupervisionStore } from './modules/supervision/store.js';
import { createRoutingService } from './modules/routing/service.js';
import { createRoutingStore } from './modules/routing/store.js';
import { createUserService } from './modules/users/service.js';
import { createUserStore } from './modules/users/store.js';
import { customerRoutes } from './modules/customers/routes.js';
import { createCustomerService } from './modules/customers/service.js';
import { createCustomerStore, createInteractionThreadSource } from './modules/customers/store.js';

export interface BuildAppOptions {
  logger: Logger;
  clock?: Clock;
  /** The telephony layer; absent when no Asterisk is configured. */
  telephony?: TelephonyPort | undefined;
  /** Call control over the configured media servers; absent without telephony. */
  calls?: CallControl | undefined;
  /** Agents' SIP endpoints in Asterisk; absent without telephony. */
  agentEndpoints?: AgentEndpoints | undefined;
  /** Called after every (re)connect of an Asterisk server. */
  onServerUp?: ((fn: () => void) => () => void) | undefined;
  /** Run job workers in this process (default true). */
  work?: boolean;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Builds the whole HTTP application without listening: resources are opened by
 * named plugins and closed by `app.close()`. Tests drive it with `inject`.
 */
export async function buildApp(config: Config, options: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorate('config', config);
  app.decorate('clock', options.clock ?? systemClock);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addSchema(errorSchema);

  // Order matters: the error handler and access hooks must exist before any
  // plugin adds routes, so every route (docs included) inherits them.
  await app.register(errorsPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'IPCC server API', version: '0.1.0', description: 'Contact-center server: ACD, IVR, voice and digital channels. Errors are {code, message, details} with stable codes.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A login token from POST /v1/auth/login, or an API key (ipcc_...)' } } },
    },
  });
  await app.register(redisPlugin);
  await app.register(mysqlPlugin);
  await app.register(eventsPlugin);
  await app.register(jobsPlugin, { work: options.work ?? true });
  await app.register(telephonyPlugin, { telephony: options.telephony });

  // Services are built once the resources exist; routes receive them.
  const audit = createAuditLog(app.mysql);
  const auth: AuthService = createAuthService({
    store: createAuthStore(app.mysql),
    audit,
    redis: app.redis,
    events: app.events,
    jobs: app.jobs,
    clock: app.clock,
    log: app.log.child({ module: 'auth' }),
    settings: config.auth,
  });
  app.jobs.register('api-key.touch', (payload) => auth.touchApiKey(payload));
  const users = createUserService({
    store: createUserStore(app.mysql),
    audit,
    events: app.events,
    revokeTokens: auth.revokeTokens,
  });
  const routing = createRoutingService({
    store: createRoutingStore(app.mysql),
    events: app.events,
    audit,
    clock: app.clock,
    userExists: async (tenantId, userId) => (await users.find(tenantId, userId)) !== undefined,
  });
  const partition = `t${app.tenantId}`;
  const acdSql = createAcdSqlStore(app.mysql, { writes: app.mysqlWrites.asPool });
  const acd = createAcdService({
    redis: app.redis, sql: acdSql, clock: app.clock, tenantId: app.tenantId, partition,
    loadConfig: () => routing.load(app.tenantId),
    afterCall: (queueId: string) => routing.afterCall(app.tenantId, queueId),
    ...(options.agentEndpoints ? { phoneRegistered: (agentId: string) => phoneRegistered(agentId) } : {}),
  });
  app.events.subscribe('routing.config_changed', ({ tenantId, what }) => {
    if (tenantId !== app.tenantId) return;
    acd.configChanged(what).catch((err: unknown) => app.log.error({ err, what }, 'could not hand a configuration change to the router'));
  });
  // The partition's input stream starts with the configuration. Redis may be down at start-up:
  // the server still starts (and /readyz says why it is not ready); this retries until it works.
  let bootstrapTimer: NodeJS.Timeout | undefined;
  let closing = false;
  const bootstrapInBackground = (): void => {
    acd.bootstrap().catch((err: unknown) => {
      if (closing) return;
      app.log.warn({ err: (err as Error).message }, 'ACD bootstrap failed; retrying');
      bootstrapTimer = setTimeout(bootstrapInBackground, 1000);
    });
  };
  app.addHook('onClose', async () => {
    closing = true;
    clearTimeout(bootstrapTimer);
  });
  // This process's router, when it runs one: its decisions go to this process's decision feed
  // at once, besides the stream (see DecisionFeed.takeLocal).
  let localRouter: RouterRunner | undefined;
  if (config.router.enabled) {
    const routerRedis = app.redis.duplicate();
    const runner = createRouterRunner({
      redis: routerRedis, sql: acdSql, tenantId: app.tenantId, partition,
      owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      clock: app.clock, log: app.log, leaseTtlMs: config.router.leaseMs,
    });
    app.decorate('router', runner);
    localRouter = runner;
    app.addHook('onReady', async () => {
      bootstrapInBackground();
      runner.start();
    });
    app.addHook('onClose', async () => {
      await runner.stop();
      routerRedis.disconnect();
    });
  } else {
    app.addHook('onReady', async () => bootstrapInBackground());
  }
  const flows = createFlowService({
    store: createFlowStore(app.mysql),
    audit,
    events: app.events,
    calendarIds: async (tenantId) => (await routing.list('calendar', tenantId)).items.map((c) => c.id),
  });
  // Recording policy, PCI pauses, playback, QA listing and retention; the voice service asks it
  // at bridge time whether (and under which name) to record.
  const recordings = createRecordingService({
    store: createRecordingStore(app.mysql, { writes: app.mysqlWrites.asPool }),
    calls: options.calls,
    policyOf: (queueId) => routing.recordingPolicy(app.tenantId, queueId),
    retentionOverrides: () => routing.recordingRetention(app.tenantId),
    callInfo: async (callId) => {
      try {
        return await voice.getCall(callId);
      } catch (e) {
        if (isAppError(e) && e.kind === 'not_found') return undefined;
        throw e;
      }
    },
    agentIdForUser: (userId) => routing.agentIdForUser(app.tenantId, userId),
    jobs: app.jobs,
    audit,
    events: app.events,
    clock: app.clock,
    log: app.log,
    tenantId: app.tenantId,
    settings: config.recording,
  });
  app.jobs.register('recording.retention', async (payload, job) => {
    if (payload.tenantId !== app.tenantId) return;
    await recordings.runRetention(payload, job.id);
  });
  app.addHook('onReady', async () => {
    // In the background: Redis may be down at start-up (the server starts anyway, /readyz says why).
    app.jobs
      .repeat('recording.retention', { tenantId: app.tenantId, trigger: 'schedule' }, { key: `t${app.tenantId}`, everyMs: config.recording.retentionEveryMinutes * 60_000 })
      .catch((err: unknown) => app.log.warn({ err }, 'could not schedule the recording retention job; it runs when an admin asks'));
  });
  // Customers and their one thread across channels; channels call resolve/linkInteraction on arrival.
  const customers = createCustomerService({
    store: createCustomerStore(app.mysql, app.mysqlScripts),
    threadSource: createInteractionThreadSource(app.mysql),
    audit,
    events: app.events,
    clock: app.clock,
    log: app.log,
    tenantId: app.tenantId,
    defaultCountryCode: config.customers.defaultCountryCode,
  });
  const voice = createVoiceService({
    recorder: recordings,
    store: createVoiceStore(app.mysql, { writes: app.mysqlWrites.asPool }),
    liveStore: createLiveCallStore(app.redis, app.tenantId),
    flowExists: async (flowId) => (await flows.published(app.tenantId, flowId)) !== undefined,
    // Late binding: the executor and the voice service call each other.
    ivr: { start: (c) => ivrExecutor.start(c) },
    calls: options.calls,
    acd,
    audit,
    queueExists: async (queueId) => (await routing.load(app.tenantId)).queues.some((q) => q.id === queueId),
    events: app.events,
    clock: app.clock,
    log: app.log,
    tenantId: app.tenantId,
    agentEndpoint: (agentId) => `PJSIP/${agentEndpointId(app.tenantId, agentId)}`,
    agentExists: async (agentId) => (await routing.load(app.tenantId)).agents.some((a) => a.id === agentId),
    externalEndpoint: (number) => (config.voice.outboundDial ? config.voice.outboundDial.replaceAll('{number}', number) : undefined),
    externalRingSeconds: config.voice.outboundRingSeconds,
    agentTransferWaitSeconds: config.voice.agentTransferWaitSeconds,
    voiceRules: (queueId) => routing.voiceRules(app.tenantId, queueId),
    estimateWaitMs: async (queueId, priority) => {
      const e = await acd.estimateWait(queueId, 'voice', priority);
      return e.basis === 'none' ? undefined : e.p50;
    },
    scheduleCallback: (callbackId, attempt, delayMs) => app.jobs.enqueue('voice.callback_due', { tenantId: app.tenantId, callbackId }, { dedupeKey: `${callbackId}.${attempt}`, delayMs }),
    callbackAttempts: config.voice.callbackAttempts,
    callbackRetrySeconds: config.voice.callbackRetrySeconds,
    defaultServer: () => config.asterisk.servers[0]?.name,
    // Shard 0 keeps the name a queue's single holding bridge always had.
    holdBridgeId: (queueId, shard) => `hold-${config.asterisk.app}-${app.tenantId}-${queueId}${shard ? `-${shard}` : ''}`,
    holdBridgeShards: config.voice.holdBridgeShards,
    sweepEveryMs: config.voice.sweepSeconds * 1000,
    customers: { resolve: (input) => customers.resolve(input), linkInteraction: (customerId, interactionId, channel, at) => customers.linkInteraction(customerId, interactionId, channel, at) },
  });
  app.jobs.register('voice.callback_due', async (payload) => {
    if (payload.tenantId === app.tenantId) await voice.callbackDue(payload.callbackId);
  });
  const ivrExecutor = createIvrService({
    store: createIvrStore(app.mysql),
    calls: options.calls,
    publishedFlow: (flowId) => flows.published(app.tenantId, flowId),
    calendars: () => routing.calendars(app.tenantId),
    ivrEnded: (callId, action) => voice.ivrEnded(callId, action),
    tts: createTtsCache({
      dir: config.ivr.ttsCacheDir, ttsCommand: config.ivr.ttsCommand, soxCommand: config.ivr.soxCommand, defaultVoice: config.ivr.ttsDefaultVoice,
      timeoutMs: config.ivr.ttsTimeoutMs, secret: config.auth.tokenSecret, log: app.log.child({ module: 'tts' }),
    }),
    mediaBaseUrl: (config.ivr.mediaBaseUrl || `http://${config.http.host}:${config.http.port}`).replace(/\/+$/, ''),
    fallbackSound: config.ivr.ttsFallbackSound,
    events: app.events,
    clock: app.clock,
    log: app.log,
    tenantId: app.tenantId,
  });
  app.addHook('onClose', async () => ivrExecutor.close());
  if (options.calls) {
    // This process holds calls' media: it follows the partition's decisions and acts on its own calls.
    // It resumes after the last decision it handled, and reads back its live calls first, so a
    // restarted process takes over the calls it held (see voice.reconcile).
    const feed = createDecisionFeed(app.redis, partition, app.log, { cursorKey: `voice:t${app.tenantId}:feed-cursor:${config.asterisk.app}` });
    feed.subscribe((d) => voice.onDecision(d));
    const stopTakingLocal = localRouter?.onPublished((p) => feed.takeLocal(p));
    options.calls.onEvent((e) => voice.onCallEvent(e));
    options.calls.onEvent((e) => (e.type === 'recording_ended' ? recordings.recordingEnded(e) : undefined));
    options.calls.onEvent((e) => ivrExecutor.onCallEvent(e));
    app.addHook('onReady', async () => {
      await voice.restore().catch((err: unknown) => app.log.error({ err }, 'could not read live calls back from Redis'));
      feed.start();
    });
    app.addHook('onClose', async () => {
      stopTakingLocal?.();
      voice.close();
      await feed.stop();
    });
  }
  const sipLogins = createSipLoginService({
    store: createSipLoginStore(app.mysql),
    provisioning: options.agentEndpoints,
    agentExists: async (tenantId, agentId) => {
      try {
        await routing.get('agent', tenantId, agentId);
        return true;
      } catch (e) {
        if (isAppError(e) && e.kind === 'not_found') return false;
        throw e;
      }
    },
    audit,
    events: app.events,
    log: app.log.child({ module: 'sip-logins' }),
  });
  async function phoneRegistered(agentId: string): Promise<boolean | undefined> {
    try {
      return (await sipLogins.get(app.tenantId, agentId)).registered;
    } catch (e) {
      if (isAppError(e) && e.kind === 'not_found') return undefined;
      throw e;
    }
  }
  // Supervisors listening to, whispering to or barging into connected calls (sessions in memory).
  const supervision = createSupervisionService({
    store: createSupervisionStore(),
    calls: options.calls,
    liveCall: (callId) => voice.liveCall(callId),
    liveCallOfAgent: (agentId) => voice.liveCallOfAgent(agentId),
    agentPhone: async (agentId) => {
      try {
        await sipLogins.get(app.tenantId, agentId);
        return `PJSIP/${agentEndpointId(app.tenantId, agentId)}`;
      } catch (e) {
        if (isAppError(e) && e.kind === 'not_found') return undefined;
        throw e;
      }
    },
    endpointPhone: (endpoint) => `PJSIP/${endpoint}`,
    events: app.events,
    audit,
    clock: app.clock,
    log: app.log,
    tenantId: app.tenantId,
  });
  app.events.subscribe('voice.call_ended', ({ tenantId, callId }) => {
    if (tenantId === app.tenantId) supervision.callEnded(callId);
  });
  if (options.calls) {
    const off = options.calls.onEvent((e) => supervision.onCallEvent(e));
    app.addHook('onClose', async () => {
      await supervision.close();
      off();
    });
  }
  if (options.agentEndpoints) {
    // A phone that drops its registration takes its ready agent out of routing.
    const off = options.agentEndpoints.onRegistrationChange((c) => {
      if (c.tenantId !== app.tenantId || c.registered) return;
      acd
        .agentState(c.agentId)
        .then((s) => (s.presence.kind === 'ready' ? acd.setPresence(c.agentId, { kind: 'not_ready', reason: 'phone_offline' }) : undefined))
        .catch((err: unknown) => {
          // A phone of an agent the routing configuration does not know (yet) needs nothing done.
          if (isAppError(err) && err.kind === 'not_found') return;
          app.log.warn({ err, agentId: c.agentId }, 'could not take an agent with an offline phone out of routing');
        });
    });
    app.addHook('onClose', async () => off());
  }
  if (options.agentEndpoints && options.onServerUp) {
    // Start-up and every reconnect: make Asterisk hold exactly the stored logins.
    const off = options.onServerUp(() => {
      sipLogins.reconcile(app.tenantId).catch((err: unknown) => app.log.warn({ err }, 'agent endpoint reconcile failed'));
    });
    app.addHook('onClose', async () => off());
  }
  const health = createHealthService({ mysql: app.mysql, redis: app.redis, telephony: app.telephony, timeoutMs: 2000 });

  // Before access control: its hook marks upgrade requests so a refused upgrade's socket is closed.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(accessPlugin, { authenticate: auth.authenticate, authorize: auth.authorize });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { service: health });
  await app.register(authRoutes, { service: auth });
  await app.register(userRoutes, { service: users });
  await app.register(routingRoutes, { service: routing });
  await app.register(acdRoutes, { service: acd, routing });
  await app.register(voiceRoutes, { service: voice, actsFor: (request, agentId) => assertActsFor(routing, app.tenantId, request, agentId) });
  await app.register(recordingRoutes, { service: recordings });
  await app.register(sipLoginRoutes, { service: sipLogins });
  await app.register(flowRoutes, { service: flows });
  await app.register(ivrRoutes, { service: ivrExecutor });
  await app.register(supervisionRoutes, { service: supervision });
  await app.register(customerRoutes, { service: customers });
  await app.register(agentStreamRoutes, {
    redis: app.redis,
    streamKey: (agentId) => acd.keys.agentStream(agentId),
    state: (agentId) => acd.agentState(agentId),
    authorize: (request, agentId) => assertActsFor(routing, app.tenantId, request, agentId),
  });
  return app;
}
