/**
 * The callers' audio: the G.711 A-law speech in SIPp's shipped `g711a.pcap`, cut out of its RTP
 * packets and turned into raw u-law, which SIPp's `rtp_stream` loops on every call. u-law because
 * agents' endpoints speak u-law: no transcoding in the media server, the same for both systems.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** RTP payloads of one payload type from a classic pcap file (Ethernet, Linux cooked or raw IP). */
export function rtpPayloadsFromPcap(pcap: Buffer, payloadType: number): Buffer[] {
  if (pcap.length < 24) throw new Error('not a pcap file: too short');
  const magic = pcap.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file: bad magic');
  const u32 = (at: number): number => (little ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  const linkType = u32(20);
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 101 ? 0 : -1;
  if (linkHeader < 0) throw new Error(`unsupported pcap link type ${linkType}`);
  const out: Buffer[] = [];
  for (let at = 24; at + 16 <= pcap.length; ) {
    const captured = u32(at + 8);
    const packet = pcap.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    const ip = packet.subarray(linkHeader);
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    const rtp = udp.subarray(8);
    if (rtp.length < 12 || rtp[0]! >> 6 !== 2 || (rtp[1]! & 0x7f) !== payloadType) continue;
    const csrcs = rtp[0]! & 0x0f;
    out.push(rtp.subarray(12 + 4 * csrcs));
  }
  return out;
}

/** G.711 A-law byte to 16-bit linear. */
export function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const exponent = (v & 0x70) >> 4;
  let magnitude = (v & 0x0f) << 4;
  magnitude += exponent === 0 ? 8 : 0x108;
  if (exponent > 1) magnitude <<= exponent - 1;
  return v & 0x80 ? magnitude : -magnitude;
}

/** 16-bit linear to a G.711 u-law byte. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa);
  return s & 0xff;
}

/** Writes the pcap's A-law speech as raw u-law to `outFile`; returns its length in seconds. */
export function writeCallerAudio(pcapFile: string, outFile: string): number {
  const payloads = rtpPayloadsFromPcap(readFileSync(pcapFile), 8);
  const alaw = Buffer.concat(payloads);
  if (alaw.length === 0) throw new Error(`${pcapFile} holds no A-law RTP`);
  const table = Uint8Array.from({ length: 256 }, (_, a) => linearToUlaw(alawToLinear(a)));
  const ulaw = Buffer.alloc(alaw.length);
  for (let i = 0; i < alaw.length; i += 1) ulaw[i] = table[alaw[i]!]!;
  writeFileSync(outFile, ulaw);
  return ulaw.length / 8000;
}
