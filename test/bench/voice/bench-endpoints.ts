/**
 * The PJSIP endpoints the benchmark pushes into its Asterisk instance over ARI push
 * configuration (astdb): one per agent, named as the server names agents' endpoints
 * (`agentEndpointId`), with a static contact on the one SIPp UAS (no REGISTER); and one for the
 * callers, which SIPp names as its From user (endpoint identification by user name comes first
 * in pjsip.conf) and whose caller number it sends in P-Asserted-Identity.
 *
 * Both bind their RTP to the loopback media address. With RTP on the wildcard address, Asterisk
 * looks up its own host name (then A.ROOT-SERVERS.NET) for every media session, on the SIP
 * thread handling the call; the host name does not resolve here and the machine's resolver
 * times out under bursts, which stalls SIP for seconds (see the benchmark's report).
 */
import type { AsteriskInstance } from '../../helpers/asterisk.js';
import { mapLimit } from './bench-util.js';

/** The default tenant of a fresh database. */
export const TENANT_ID = 1;
export const CALLER_ENDPOINT = 'bench-caller';

export const agentIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${String(i + 1).padStart(4, '0')}`);

function ari(instance: AsteriskInstance) {
  const auth = `Basic ${Buffer.from(`${instance.ariUser}:${instance.ariPassword}`).toString('base64')}`;
  const url = (type: string, id: string) => `${instance.ariUrl}/ari/asterisk/config/dynamic/res_pjsip/${type}/${encodeURIComponent(id)}`;
  return {
    async put(type: string, id: string, fields: Record<string, string>): Promise<void> {
      const res = await fetch(url(type, id), {
        method: 'PUT',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`ARI push ${type}/${id}: ${res.status} ${await res.text()}`);
    },
    async remove(type: string, id: string): Promise<void> {
      await fetch(url(type, id), { method: 'DELETE', headers: { authorization: auth }, signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    },
  };
}

const media = (address: string): Record<string, string> => ({ media_address: address, bind_rtp_to_media_address: 'yes' });

/** One static-contact endpoint per agent (u-law, media through Asterisk). */
export async function pushAgentEndpoints(instance: AsteriskInstance, endpoints: readonly string[], contact: { ip: string; port: number }): Promise<void> {
  const a = ari(instance);
  await mapLimit(endpoints, 8, async (id) => {
    await a.put('aor', id, { contact: `sip:${id}@${contact.ip}:${contact.port}`, max_contacts: '1' });
    await a.put('endpoint', id, { aors: id, context: 'ipcc-agents', allow: '!all,ulaw', direct_media: 'no', ...media(instance.sipHost) });
  });
}

/** The callers' endpoint: calls land in the test context (X-IPCC-App picks our Stasis app). */
export async function pushCallerEndpoint(instance: AsteriskInstance): Promise<void> {
  await ari(instance).put('endpoint', CALLER_ENDPOINT, {
    context: 'ipcc-test', allow: '!all,ulaw', direct_media: 'no', rtp_symmetric: 'yes', force_rport: 'yes', rewrite_contact: 'yes',
    trust_id_inbound: 'yes', ...media(instance.sipHost),
  });
}

export async function deleteBenchEndpoints(instance: AsteriskInstance, agentEndpoints: readonly string[]): Promise<void> {
  const a = ari(instance);
  await a.remove('endpoint', CALLER_ENDPOINT);
  await mapLimit(agentEndpoints, 8, async (id) => {
    await a.remove('endpoint', id);
    await a.remove('aor', id);
  });
}
