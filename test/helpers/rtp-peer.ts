/**
 * The media side of a test phone: a UDP socket that SIPp's SDP points at. It keeps every RTP
 * packet it receives (with its arrival time), so a test can tell what a party heard in a window
 * of time, and it can send a G.711 tone of its own, so a test can tell *whose* audio a party heard.
 *
 * It sends to the address its first RTP packet came from: Asterisk's endpoints here use symmetric
 * RTP and send first, and the socket is the one named in the SDP, so both directions meet.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runInRoot } from './asterisk.js';

export interface ReceivedAudio {
  packets: number;
  /** The RTP payload type seen (0 PCMU, 8 PCMA), or undefined when nothing came. */
  payloadType: number | undefined;
  /** The payloads, concatenated in arrival order. */
  audio: Buffer;
}

export interface RtpPeer {
  ip: string;
  port: number;
  /** Starts sending a tone (G.711, 20 ms packets) to whoever sends to us; `payloadType` 0 (PCMU) or 8 (PCMA). */
  sendTone(opts: { hz: number; amplitude: number; payloadType: 0 | 8 }): void;
  /** What arrived between two instants (Date.now() values). */
  received(fromMs: number, toMs: number): ReceivedAudio;
  /** Packets received so far. */
  count(): number;
  close(): Promise<void>;
}

export async function startRtpPeer(ip: string, port: number): Promise<RtpPeer> {
  const socket: Socket = createSocket('udp4');
  const got: { at: number; pt: number; payload: Buffer }[] = [];
  let remote: { address: string; port: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12 || msg[0]! >> 6 !== 2) return; // not RTP (RTCP arrives on port + 1)
    const pt = msg[1]! & 0x7f;
    if (pt !== 0 && pt !== 8) return; // only audio, no RFC 4733 events or comfort noise
    const cc = msg[0]! & 0x0f;
    const headerLength = 12 + 4 * cc + ((msg[0]! & 0x10) !== 0 ? 4 + 4 * msg.readUInt16BE(12 + 4 * cc + 2) : 0);
    got.push({ at: Date.now(), pt, payload: Buffer.from(msg.subarray(headerLength)) });
    remote ??= { address: rinfo.address, port: rinfo.port };
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, ip, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    ip,
    port,
    sendTone({ hz, amplitude, payloadType }) {
      clearInterval(timer);
      const encode = payloadType === 0 ? linearToUlaw : linearToAlaw;
      const ssrc = randomBytes(4).readUInt32BE(0);
      let seq = randomBytes(2).readUInt16BE(0);
      let ts = randomBytes(4).readUInt32BE(0);
      let n = 0;
      let first = true;
      const start = Date.now();
      let sent = 0;
      timer = setInterval(() => {
        if (!remote) return;
        // Catch up after a late timer so the stream keeps its rate (a 2-core box shared with others).
        const due = Math.floor((Date.now() - start) / 20) + 1;
        for (; sent < due; sent++) {
          const pkt = Buffer.alloc(12 + 160);
          pkt[0] = 0x80;
          pkt[1] = (first ? 0x80 : 0) | payloadType;
          pkt.writeUInt16BE(seq, 2);
          pkt.writeUInt32BE(ts >>> 0, 4);
          pkt.writeUInt32BE(ssrc, 8);
          for (let i = 0; i < 160; i++, n++) pkt[12 + i] = encode(Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / 8000)));
          socket.send(pkt, remote.port, remote.address);
          first = false;
          seq = (seq + 1) & 0xffff;
          ts = (ts + 160) >>> 0;
        }
      }, 20);
    },
    received(fromMs, toMs) {
      const inWindow = got.filter((g) => g.at >= fromMs && g.at < toMs);
      return { packets: inWindow.length, payloadType: inWindow[0]?.pt, audio: Buffer.concat(inWindow.map((g) => g.payload)) };
    },
    count: () => got.length,
    async close() {
      clearInterval(timer);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** G.711 µ-law of one 16-bit sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** G.711 A-law of one 16-bit sample. */
export function linearToAlaw(sample: number): number {
  let s = Math.max(-32767, Math.min(32767, sample));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s >>= 3;
  let seg = 0;
  for (let v = s >> 5; v > 0 && seg < 7; v >>= 1) seg++;
  const mantissa = seg === 0 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f;
  return (sign | (seg << 4) | mantissa) ^ 0x55;
}

/**
 * The RMS level (0..1 of full scale) of G.711 audio within a frequency band, measured by sox
 * (`sinc` band-pass, then `stat`) inside the stack's root. An empty input measures 0.
 */
export async function bandRms(root: string, audio: ReceivedAudio, band: readonly [number, number]): Promise<number> {
  if (audio.audio.length < 800 || audio.payloadType === undefined) return 0;
  const name = `/tmp/ipcc-rtp-${randomBytes(6).toString('hex')}.raw`;
  writeFileSync(path.join(root, name), audio.audio);
  try {
    const r = await runInRoot(root, ['sox', '-t', audio.payloadType === 0 ? 'ul' : 'al', '-r', '8000', '-c', '1', name, '-n', 'sinc', `${band[0]}-${band[1]}`, 'stat'], { timeoutMs: 10_000 });
    const m = /RMS\s+amplitude:\s+([0-9.]+)/.exec(r.stderr);
    if (!m) throw new Error(`sox gave no RMS: ${r.stderr.slice(-300)}`);
    return Number(m[1]);
  } finally {
    rmSync(path.join(root, name), { force: true });
  }
}

/**
 * A pcap of `copies` times an RTP pcap back to back, as one continuous stream (sequence numbers
 * and timestamps carry on, capture times follow each other), for SIPp's `play_pcap_audio`.
 * Replaying the short sample in a loop restarts its sequence numbers and timestamps, and Asterisk
 * then drops what follows the first round. Ethernet/IPv4/UDP captures only (like SIPp's own).
 */
export function writeLongPcap(source: string, dest: string, copies: number): void {
  const b = readFileSync(source);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1) throw new Error(`${source}: not a little-endian Ethernet pcap`);
  const records: { at: number; data: Buffer }[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = b.readUInt32LE(off + 8);
    records.push({ at: b.readUInt32LE(off) * 1e6 + b.readUInt32LE(off + 4), data: b.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last || records.length < 2) throw new Error(`${source}: too few packets`);
  const rtpAt = 14 + 20 + 8;
  const step = (last.at - first.at) / (records.length - 1);
  const span = last.at - first.at + step;
  const seq0 = first.data.readUInt16BE(rtpAt + 2);
  const tsStep = records[1]!.data.readUInt32BE(rtpAt + 4) - first.data.readUInt32BE(rtpAt + 4);
  const ts0 = first.data.readUInt32BE(rtpAt + 4);
  const out: Buffer[] = [b.subarray(0, 24)];
  let n = 0;
  for (let c = 0; c < copies; c++) {
    for (const r of records) {
      const data = Buffer.from(r.data);
      data.writeUInt16BE((seq0 + n) & 0xffff, rtpAt + 2);
      data.writeUInt32BE((ts0 + n * tsStep) >>> 0, rtpAt + 4);
      data.writeUInt16BE(0, 14 + 20 + 6); // UDP checksum: none (the payload changed)
      const at = Math.round(r.at + c * span);
      const hdr = Buffer.alloc(16);
      hdr.writeUInt32LE(Math.floor(at / 1e6), 0);
      hdr.writeUInt32LE(at % 1e6, 4);
      hdr.writeUInt32LE(data.length, 8);
      hdr.writeUInt32LE(data.length, 12);
      out.push(hdr, data);
      n++;
    }
  }
  const tmp = `${dest}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, Buffer.concat(out));
  renameSync(tmp, dest);
}
