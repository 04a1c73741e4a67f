/**
 * An agent's phone with a static contact (no REGISTER): the PJSIP aor and endpoint pushed into
 * Asterisk over ARI push configuration under the name the server gives agents' endpoints, so a
 * SIPp UAS listening at `ip:port` rings when the server rings the agent. Removed on teardown.
 */
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import type { AsteriskInstance } from './asterisk.js';

export async function pushStaticAgentPhone(
  t: { teardown(fn: () => unknown): void },
  asterisk: AsteriskInstance,
  o: { endpoint: string; ip: string; port: number; allow: string; appName: string },
): Promise<void> {
  const ari = createAriClient({ name: 'provision', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${o.appName}-prov`, logger: createSilentLogger() });
  const push = (type: string, fields: Record<string, string>) =>
    ari.request('PUT', `/asterisk/config/dynamic/res_pjsip/${type}/${o.endpoint}`, { body: { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) } });
  t.teardown(async () => {
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/endpoint/${o.endpoint}`).catch(() => undefined);
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/aor/${o.endpoint}`).catch(() => undefined);
  });
  await push('aor', { contact: `sip:agent@${o.ip}:${o.port}`, max_contacts: '1' });
  await push('endpoint', { aors: o.endpoint, context: 'ipcc-agents', allow: o.allow, direct_media: 'no' });
}
