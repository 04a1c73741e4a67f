import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log } from '../../infra/logger.js';

/**
 * TTS prompts: text spoken by espeak-ng, converted by sox to 8 kHz mono 16-bit WAV (what
 * Asterisk's format_wav plays without transcoding), cached on disk by a keyed hash of
 * (text, language, voice) so one text is rendered once, and served to the media servers over
 * HTTP (they fetch `sound:http://…/v1/ivr/media/<name>` through res_http_media_cache).
 */

/** The only names the media route serves: a cache file, by its hash. */
export const MEDIA_NAME = /^[a-f0-9]{64}\.wav$/;

/** Bumped when the rendering changes, so old cache files are not served for new renders. */
const FORMAT = 'tts-8k-s16-v1';
/** Longest TTS text rendered; longer text is refused (the caller hears the fallback). */
export const MAX_TTS_TEXT = 4000;
const SAMPLE_RATE = 8000;

/** Whether a media route name is one the cache can hold (never a path, never another file). */
export const isMediaName = (name: string): boolean => MEDIA_NAME.test(name);

/**
 * The espeak-ng voice for a prompt language: `en`, `fr`, `en-us` (Asterisk's `en_US` becomes
 * `en-us`); anything that does not look like a language tag falls back to `defaultVoice`.
 */
export function voiceFor(language: string | undefined, defaultVoice: string): string {
  const v = (language ?? '').trim().toLowerCase().replace(/_/g, '-');
  return /^[a-z]{2,3}(-[a-z0-9]{1,8}){0,3}$/.test(v) ? v : defaultVoice;
}

/**
 * The cache file name of one rendering. Keyed (HMAC) with a server secret: the names cannot be
 * computed from a guessed text, so the public media route does not confirm what was said.
 */
export function ttsCacheName(secret: string, text: string, voice: string): string {
  return `${createHmac('sha256', secret).update(JSON.stringify([FORMAT, voice, text])).digest('hex')}.wav`;
}

/** A canonical 44-byte WAV header for 16-bit mono PCM. */
export function wavHeader(pcmBytes: number, sampleRate = SAMPLE_RATE): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + pcmBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(pcmBytes, 40);
  return h;
}

/** Splits a configured command (`chroot /srv/root espeak-ng`) into argv; no shell is involved. */
export const commandArgv = (command: string): string[] => command.trim().split(/\s+/).filter(Boolean);

export interface TtsOptions {
  dir: string;
  ttsCommand: string;
  soxCommand: string;
  defaultVoice: string;
  timeoutMs: number;
  /** Keys the cache names (see {@link ttsCacheName}). */
  secret: string;
  log: Log;
}

export interface TtsRender {
  /** The cache file name (served at /v1/ivr/media/<name>). */
  name: string;
  /** True when the file was already there. */
  cached: boolean;
  ms: number;
}

export type TtsCache = ReturnType<typeof createTtsCache>;

export function createTtsCache(opts: TtsOptions) {
  const tts = commandArgv(opts.ttsCommand);
  const sox = commandArgv(opts.soxCommand);
  const inFlight = new Map<string, Promise<TtsRender>>();
  let dirReady: Promise<unknown> | undefined;
  const stats = { renders: 0, hits: 0, failures: 0 };

  const exists = async (file: string): Promise<boolean> => {
    try {
      return (await stat(file)).size > 44;
    } catch {
      return false;
    }
  };

  /** espeak-ng → sox → raw PCM, under one deadline; both processes are killed when it passes. */
  function synthesize(text: string, voice: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const [ttsCmd, ...ttsArgs] = tts as [string, ...string[]];
      const [soxCmd, ...soxArgs] = sox as [string, ...string[]];
      const speak = spawn(ttsCmd, [...ttsArgs, '-v', voice, '--stdin', '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const convert = spawn(soxCmd, [...soxArgs, '-q', '-t', 'wav', '-', '-t', 'raw', '-r', String(SAMPLE_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let errText = '';
      let settled = false;
      let exits = 0;
      const codes: Record<string, number | null> = {};
      const done = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          // Only processes that started and still run: killing one whose spawn failed while its
          // stdout is piped made Node 20 spin at 100 % CPU now and then (seen here, reproduced
          // with plain child_process).
          speak.stdout.unpipe();
          for (const child of [speak, convert]) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          reject(err);
        } else resolve(Buffer.concat(chunks));
      };
      const timer = setTimeout(() => done(new Error(`TTS render took longer than ${opts.timeoutMs} ms`)), opts.timeoutMs);
      const exited = (who: string) => (code: number | null) => {
        codes[who] = code;
        if (++exits < 2) return;
        if (codes.tts !== 0 || codes.sox !== 0) done(new Error(`TTS render failed (tts exit ${String(codes.tts)}, sox exit ${String(codes.sox)}): ${errText.trim().slice(0, 300)}`));
        else done(undefined);
      };
      speak.on('error', (e) => done(e));
      convert.on('error', (e) => done(e));
      speak.on('close', exited('tts'));
      convert.on('close', exited('sox'));
      speak.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      convert.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      // A process that dies early closes its pipe: ignore EPIPE here, its exit code tells.
      speak.stdin.on('error', () => undefined);
      convert.stdin.on('error', () => undefined);
      speak.stdout.pipe(convert.stdin);
      convert.stdout.on('data', (d: Buffer) => chunks.push(d));
      speak.stdin.end(text);
    });
  }

  async function renderNew(name: string, text: string, voice: string, started: number): Promise<TtsRender> {
    const file = path.join(opts.dir, name);
    dirReady ??= mkdir(opts.dir, { recursive: true });
    await dirReady;
    if (await exists(file)) {
      stats.hits++;
      return { name, cached: true, ms: performance.now() - started };
    }
    const pcm = await synthesize(text, voice);
    if (pcm.length < 2) throw new Error('TTS render produced no audio');
    // Written aside and renamed: a media server fetching meanwhile never reads half a file.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, Buffer.concat([wavHeader(pcm.length), pcm]));
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    stats.renders++;
    const ms = performance.now() - started;
    opts.log.info({ name, voice, chars: text.length, bytes: pcm.length + 44, ms: Math.round(ms) }, 'TTS prompt rendered');
    return { name, cached: false, ms };
  }

  return {
    stats: () => ({ ...stats }),
    /** The cache file name for this text; renders it first unless it is cached. Rejects on failure. */
    async render(text: string, language: string | undefined): Promise<TtsRender> {
      const started = performance.now();
      if (text.trim() === '') throw new Error('TTS text is empty');
      if (text.length > MAX_TTS_TEXT) throw new Error(`TTS text is longer than ${MAX_TTS_TEXT} characters`);
      const voice = voiceFor(language, opts.defaultVoice);
      const name = ttsCacheName(opts.secret, text, voice);
      // One render per name at a time: two calls asking for the same new prompt share it.
      let p = inFlight.get(name);
      if (!p) {
        p = renderNew(name, text, voice, started).finally(() => inFlight.delete(name));
        inFlight.set(name, p);
      }
      try {
        return await p;
      } catch (err) {
        stats.failures++;
        throw err;
      }
    },
    /** A cache file's bytes, or undefined when the name is not a cache name or not rendered. */
    async read(name: string): Promise<Buffer | undefined> {
      if (!isMediaName(name)) return undefined;
      try {
        return await readFile(path.join(opts.dir, name));
      } catch {
        return undefined;
      }
    },
    path: (name: string): string | undefined => (isMediaName(name) ? path.join(opts.dir, name) : undefined),
  };
}
