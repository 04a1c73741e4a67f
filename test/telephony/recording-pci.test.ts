/**
 * Call recording on a real Asterisk, checked with sox. A SIPp caller talks (G.711 A-law cut from
 * SIPp's own g711a.pcap, streamed in a loop) into a queue that records every call; the agent's
 * phone (a SIPp UAS with a static contact) answers and talks back the same way for 11 s. In the
 * middle of the call a supervisor pauses the recording for PCI through the API and resumes it.
 * The file must hold audio outside the pause, silence inside it, and last as long as the bridged
 * call (the pause keeps the timeline). A second queue that never records leaves no file and no
 * metadata.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { agentEndpointId } from '../../server/domain/sip-endpoint.js';
import { bearer, buildTestAppWithTelephony, eventually, loginAs, serverLog } from '../helpers/app.js';
import { ensureAsterisk, runInRoot, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { SCENARIO_DIR, freeUdpPort, runSipp, runSippUas, waitUdpListening } from '../helpers/sipp.js';
import { pushStaticAgentPhone } from '../helpers/static-agent-phone.js';

/** The RTP payloads of a pcap (Ethernet, IPv4, UDP, RTP), concatenated: raw G.711 as SIPp streams it. */
function rtpPayloads(pcap: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 24; off + 16 <= pcap.length;) {
    const len = pcap.readUInt32LE(off + 8);
    const pkt = pcap.subarray(off + 16, off + 16 + len);
    off += 16 + len;
    const ip = 14;
    const udp = ip + (pkt[ip]! & 0x0f) * 4;
    const rtp = udp + 8;
    parts.push(pkt.subarray(rtp + 12 + (pkt[rtp]! & 0x0f) * 4));
  }
  return Buffer.concat(parts);
}

/** sox's `stat` of one stretch of a file inside the stack root: RMS amplitude and the stretch's length. */
async function soxStat(asterisk: AsteriskInstance, file: string, fromS: number, lengthS: number): Promise<{ rms: number; length: number }> {
  const r = await runInRoot(asterisk.root, ['sox', file, '-n', 'trim', fromS.toFixed(3), lengthS.toFixed(3), 'stat'], { timeoutMs: 20_000 });
  const rms = /RMS\s+amplitude:\s+([0-9.]+)/.exec(r.stderr);
  const length = /Length \(seconds\):\s+([0-9.]+)/.exec(r.stderr);
  if (r.code !== 0 || !rms || !length) throw new Error(`sox stat failed (${r.code}): ${r.stderr.slice(-400)}`);
  return { rms: Number(rms[1]), length: Number(length[1]) };
}

async function soxDuration(asterisk: AsteriskInstance, file: string): Promise<number> {
  const r = await runInRoot(asterisk.root, ['sox', '--i', '-D', file], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`sox --i failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

// About 25 s on an idle machine; more when other telephony tests share the cores.
t.setTimeout(180_000);

t.test('given queues that always and never record, and an agent phone that talks, on a real Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const appName = uniqueName('rec');
  const agentId = uniqueName('ag').toLowerCase().replace(/[^a-z0-9]/g, '');
  const stamp = Date.now().toString().slice(-6);
  const entryAlways = `81${stamp}`;
  const entryNever = `82${stamp}`;
  const app = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `main=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
    IPCC_ROUTER_LEASE_MS: '1000',
    IPCC_RECORDING_RETENTION_EVERY_MINUTES: '0',
  });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10000);
  await eventually(async () => app.router?.isLeader(), 5000);

  // Audio for both phones: G.711 A-law cut from the pcap SIPp ships, in a scratch folder of the root.
  const scratch = `/tmp/ipcc-rec-${appName}`;
  const hostScratch = path.join(asterisk.root, scratch);
  mkdirSync(hostScratch, { recursive: true });
  t.teardown(() => rmSync(hostScratch, { recursive: true, force: true }));
  const speech = rtpPayloads(readFileSync(path.join(asterisk.root, 'usr/share/sip-tester/g711a.pcap')));
  t.ok(speech.length > 40_000, `${(speech.length / 8000).toFixed(2)} s of A-law speech from the pcap`);
  writeFileSync(path.join(hostScratch, 'speech.al'), speech);
  const scenario = (name: string): string => {
    const out = path.join(hostScratch, name);
    writeFileSync(out, readFileSync(path.join(SCENARIO_DIR, name), 'utf8').replaceAll('@@AUDIO@@', `${scratch}/speech.al`));
    return out;
  };
  const callerScenario = scenario('recording-caller-talks.xml');
  const agentScenario = scenario('recording-agent-talks.xml');

  // The agent's phone: a static contact on loopback, pushed into Asterisk over ARI.
  const agentIp = '127.0.0.1';
  const agentPort = await freeUdpPort(agentIp, 1);
  await pushStaticAgentPhone(t, asterisk, { endpoint: agentEndpointId(app.tenantId, agentId), ip: agentIp, port: agentPort, allow: '!all,alaw,ulaw', appName });

  const admin = bearer((await loginAs(app, ['admin'])).token);
  const sup = bearer((await loginAs(app, ['supervisor'])).token);
  const qa = bearer((await loginAs(app, ['qa'])).token);
  const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: admin, payload });
  const base = { strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }], serviceLevel: { percent: 80, withinSeconds: 20 } };
  t.equal((await put('/v1/skills/voice', { name: 'Voice' })).statusCode, 201);
  t.equal((await put('/v1/queues/recorded', { name: 'Recorded', ...base, recording: { mode: 'always' } })).statusCode, 201);
  t.equal((await put('/v1/queues/unrecorded', { name: 'Not recorded', ...base, recording: { mode: 'never' } })).statusCode, 201);
  t.equal((await put(`/v1/agents/${agentId}`, { name: 'Agent', skills: [{ skillId: 'voice', level: 5 }] })).statusCode, 201);
  t.equal((await put(`/v1/entry-points/${entryAlways}`, { queueId: 'recorded' })).statusCode, 200);
  t.equal((await put(`/v1/entry-points/${entryNever}`, { queueId: 'unrecorded' })).statusCode, 200);
  /** The agent ready with nothing in hand (after a call it is ready again by itself once released). */
  const ready = () =>
    eventually(async () => {
      const s = (await app.inject({ method: 'GET', url: `/v1/agents/${agentId}/state`, headers: admin })).json();
      if (s.presence.kind === 'ready') return !s.loadUnits;
      await app.inject({ method: 'PUT', url: `/v1/agents/${agentId}/presence`, headers: admin, payload: { kind: 'ready' } });
      return false;
    }, 10_000, 100);
  const callOf = async (entry: string) =>
    eventually(async () => {
      const [rows] = (await app.mysql.query('SELECT id FROM voice_calls WHERE entry = ?', [entry])) as unknown as [{ id: string }[]];
      return rows[0]?.id;
    }, 15000);
  const explain = (what: string) => t.comment(`${what}; server log:\n${serverLog.filter((l) => !l.includes('"msg":"request completed"') && !l.includes('"msg":"incoming request"')).slice(-40).join('')}`);

  await t.test('when a supervisor pauses the recording mid-call and resumes it then the file has audio outside the pause, silence inside it, and the call\'s length', async (t) => {
    await ready();
    const callerNumber = `6${Date.now().toString().slice(-9)}`;
    const agentPhone = runSippUas({ instance: asterisk, scenario: agentScenario, ip: agentIp, port: agentPort, timeoutMs: 60_000 });
    await waitUdpListening(agentIp, agentPort, 10_000);
    const caller = runSipp({ instance: asterisk, scenario: callerScenario, service: entryAlways, keys: { app: appName, caller: callerNumber }, timeoutMs: 60_000 });
    const callId = await callOf(entryAlways);
    const started = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/recordings?callId=${callId}`, headers: qa })).json();
      return r.items?.[0]?.state === 'recording' ? r.items[0] : undefined;
    }, 15_000).catch((err: unknown) => {
      explain('the call was not recorded');
      throw err;
    });
    const t0 = Date.parse(started.startedAt);

    await sleepUntil(t0 + 3_000);
    const pause = await app.inject({ method: 'POST', url: `/v1/calls/${callId}/recording/pause`, headers: sup });
    t.equal(pause.statusCode, 200, pause.body);
    await sleepUntil(t0 + 6_500);
    const resume = await app.inject({ method: 'POST', url: `/v1/calls/${callId}/recording/resume`, headers: sup });
    t.equal(resume.statusCode, 200, resume.body);

    const [c, a] = await Promise.all([caller, agentPhone]);
    t.equal(a.exitCode, 0, `agent SIPp succeeded: ${a.errors || a.stderr.slice(-500)}`);
    t.equal(c.exitCode, 0, `caller SIPp succeeded: ${c.errors || c.stderr.slice(-500)}`);
    if (a.exitCode !== 0 || c.exitCode !== 0) explain('a phone failed');

    const rec = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/recordings/${started.name}`, headers: qa })).json();
      return r.state === 'done' && r.mediaSeconds !== null ? r : undefined;
    }, 10_000);
    const call = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: admin })).json();
    t.match(rec, { callId, server: 'main', queueId: 'recorded', agentId, agents: [agentId], customerNumber: callerNumber, state: 'done', paused: false });
    t.equal(call.recording, rec.name, 'the call names its recording');
    t.equal(rec.pauses.length, 1, 'one PCI window');
    const w = rec.pauses[0] as { startMs: number; endMs: number };
    t.equal(w.startMs, pause.json().offsetMs);
    t.equal(w.endMs, resume.json().offsetMs);
    t.ok(Math.abs(w.startMs - 3_000) < 500 && Math.abs(w.endMs - 6_500) < 500, `the window sits where it was asked for: ${w.startMs}–${w.endMs} ms`);

    const hostFile = path.join(asterisk.instanceDir, 'spool/recording', `${rec.name}.wav`);
    await eventually(async () => existsSync(hostFile) && statSync(hostFile).size > 44, 5000);
    const file = `/${path.relative(asterisk.root, hostFile)}`;
    const duration = await soxDuration(asterisk, file);
    const callS = rec.durationMs / 1000;
    t.ok(Math.abs(duration - callS) < 1.0, `the file lasts as long as the bridged call: ${duration.toFixed(2)} s vs ${callS.toFixed(2)} s (media server says ${rec.mediaSeconds} s)`);
    t.ok(duration > 9, `the file covers the whole call, pause included (${duration.toFixed(2)} s)`);

    const margin = 0.3;
    const before = await soxStat(asterisk, file, 0.5, w.startMs / 1000 - margin - 0.5);
    const inside = await soxStat(asterisk, file, w.startMs / 1000 + margin, (w.endMs - w.startMs) / 1000 - 2 * margin);
    const after = await soxStat(asterisk, file, w.endMs / 1000 + margin, duration - w.endMs / 1000 - margin - 0.5);
    t.comment(`RMS amplitude before the pause ${before.rms} (${before.length} s), inside ${inside.rms} (${inside.length} s), after ${after.rms} (${after.length} s)`);
    t.ok(before.rms > 0.01, `speech before the pause (RMS ${before.rms})`);
    t.ok(after.rms > 0.01, `speech after the pause (RMS ${after.rms})`);
    t.ok(inside.rms < 0.001, `silence inside the pause (RMS ${inside.rms})`);
    t.ok(inside.length > 2.5, `the silent stretch is in the file, not cut out (${inside.length} s)`);

    const [audits] = (await app.mysql.query("SELECT action FROM audit_log WHERE target = ? AND action LIKE 'recording.%' ORDER BY id", [callId])) as unknown as [{ action: string }[]];
    t.same(audits.map((x) => x.action), ['recording.pause', 'recording.resume'], 'pause and resume are audited');
    const whole = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: qa });
    t.equal(whole.statusCode, 200);
    t.equal(whole.rawPayload.length, statSync(hostFile).size, 'played back over HTTP, the same file');
  });

  await t.test('when a call goes to the queue that never records then no file is written and no metadata kept', async (t) => {
    await ready();
    const agentPhone = runSippUas({ instance: asterisk, scenario: 'agent-answers-then-hangs-up.xml', ip: agentIp, port: agentPort, timeoutMs: 40_000 });
    await waitUdpListening(agentIp, agentPort, 10_000);
    const caller = await runSipp({ instance: asterisk, scenario: 'caller-far-end-hangs-up.xml', service: entryNever, keys: { app: appName, caller: '600000002' }, timeoutMs: 40_000 });
    const agent = await agentPhone;
    t.equal(caller.exitCode, 0, caller.errors || caller.stderr.slice(-300));
    t.equal(agent.exitCode, 0, agent.errors || agent.stderr.slice(-300));
    const callId = await callOf(entryNever);
    const call = await eventually(async () => {
      const r = (await app.inject({ method: 'GET', url: `/v1/calls/${callId}`, headers: admin })).json();
      return r.outcome ? r : undefined;
    }, 5000);
    t.equal(call.agentId, agentId, 'the call was bridged with the agent');
    t.equal(call.outcome, 'completed');
    t.equal(call.recording, null, 'the call has no recording');
    t.same((await app.inject({ method: 'GET', url: `/v1/recordings?callId=${callId}`, headers: qa })).json().items, [], 'no metadata row');
    t.notOk(existsSync(path.join(asterisk.instanceDir, 'spool/recording', `call-${callId}.wav`)), 'no file on the media server');
    const r = await app.inject({ method: 'GET', url: `/v1/calls/${callId}/recording`, headers: qa });
    t.equal(r.statusCode, 404);
    t.equal(r.json().code, 'recording_not_found');
  });
});
