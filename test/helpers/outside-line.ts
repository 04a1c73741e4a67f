/**
 * An "outside line" for telephony tests: a PJSIP endpoint pushed over ARI whose one contact is a
 * SIPp UAS at `127.0.0.1:port`, so that `IPCC_OUTBOUND_DIAL=PJSIP/{number}@<name>` rings that UAS
 * for any number (transfers and callbacks to outside numbers). Removed on teardown.
 */
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import type { AsteriskInstance } from './asterisk.js';

export async function pushOutsideLine(t: { teardown(fn: () => unknown): void }, asterisk: AsteriskInstance, o: { name: string; port: number; appName: string }): Promise<void> {
  const ari = createAriClient({ name: 'outside-line', baseUrl: asterisk.ariUrl, username: asterisk.ariUser, password: asterisk.ariPassword, app: `${o.appName}-line`, logger: createSilentLogger() });
  const push = (type: string, fields: Record<string, string>) =>
    ari.request('PUT', `/asterisk/config/dynamic/res_pjsip/${type}/${o.name}`, { body: { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) } });
  t.teardown(async () => {
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/endpoint/${o.name}`).catch(() => undefined);
    await ari.request('DELETE', `/asterisk/config/dynamic/res_pjsip/aor/${o.name}`).catch(() => undefined);
  });
  await push('aor', { contact: `sip:outside@127.0.0.1:${o.port}`, max_contacts: '1' });
  await push('endpoint', { aors: o.name, context: 'ipcc-agents', allow: '!all,ulaw,alaw', direct_media: 'no' });
}
