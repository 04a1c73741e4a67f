/**
 * Voice calls through the real app with the in-memory fake media server (fake-call-control.ts):
 * a queue with its own skill and entry point, a ready agent, a caller bridged with the agent.
 */
import type { FastifyInstance } from 'fastify';
import { bearer, buildTestApp, eventually, loginAs, uniqueId } from './app.js';
import { createFakeCallControl } from './fake-call-control.js';

export interface Ctx {
  app: FastifyInstance;
  fake: ReturnType<typeof createFakeCallControl>;
  admin: Record<string, string>;
}

/**
 * The real app on the fake media server (phones answer 30 ms after they ring), its router
 * leading, and an admin's headers. `env` adds settings to the router's fast lease.
 */
export async function voiceAppWithFake(t: Parameters<typeof buildTestApp>[0], env: Record<string, string> = {}): Promise<Ctx> {
  const fake = createFakeCallControl({ autoAnswerMs: 30 });
  const app = await buildTestApp(t, { IPCC_ROUTER_LEASE_MS: '1000', ...env }, { calls: fake.calls });
  await eventually(async () => app.router?.isLeader(), 5000);
  const admin = bearer((await loginAs(app, ['admin'])).token);
  return { app, fake, admin };
}

/** A ready agent with the given skill, optionally linked to a user login; returns its id. */
export async function readyAgent(c: Ctx, skill: string, userId?: string): Promise<string> {
  const agentId = uniqueId('ag');
  const r = await c.app.inject({ method: 'PUT', url: `/v1/agents/${agentId}`, headers: c.admin, payload: { name: 'Agent', skills: [{ skillId: skill, level: 5 }], ...(userId ? { userId } : {}) } });
  if (r.statusCode !== 201) throw new Error(`agent: ${r.body}`);
  await eventually(async () => (await c.app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: c.admin, payload: { kind: 'ready' } })).statusCode === 202, 5000);
  await eventually(async () => (await c.app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: c.admin })).json().presence.kind === 'ready', 5000);
  return agentId;
}

/** A queue with its own skill and entry point; returns the queue id, skill and entry. */
export async function queueWith(c: Ctx, recording?: object): Promise<{ queueId: string; skill: string; entry: string }> {
  const queueId = uniqueId('q');
  const skill = uniqueId('s');
  const entry = `7${Date.now().toString().slice(-6)}${Math.floor(Math.random() * 1000)}`;
  const put = (url: string, payload: object) => c.app.inject({ method: 'PUT', url, headers: c.admin, payload });
  if ((await put(`/v1/skills/${skill}`, { name: 'Skill' })).statusCode !== 201) throw new Error('skill');
  const q = await put(`/v1/queues/${queueId}`, { name: 'Q', strategy: 'longest_idle', skills: [{ skillId: skill, minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 }, ...(recording ? { recording } : {}) });
  if (q.statusCode !== 201) throw new Error(`queue: ${q.body}`);
  if ((await put(`/v1/entry-points/${entry}`, { queueId })).statusCode !== 200) throw new Error('entry');
  return { queueId, skill, entry };
}

/** A customer calls the entry point; resolves once the call is bridged with an agent. */
export async function bridgedCall(c: Ctx, entry: string, callerNumber = '+34600111222'): Promise<string> {
  const callId = `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
  await c.fake.emit({ type: 'call_arrived', server: 'fake', callId, entry, callerNumber, callerName: 'Customer' });
  await eventually(async () => (await c.app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: c.admin })).json().answeredAt, 10000);
  return callId;
}

export const hangUp = (c: Ctx, callId: string) => c.fake.emit({ type: 'call_ended', server: 'fake', callId, cause: 16, causeText: 'Normal Clearing', endedBy: 'customer' });

