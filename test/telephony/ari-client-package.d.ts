// The parts of the `ari-client` package (2.2.0, untyped) that ari-client-comparison.ts uses.
declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  export interface LegacyChannel {
    id: string;
    caller: { number: string };
    answer(): Promise<void>;
    hangup(): Promise<void>;
  }

  export interface LegacyClient extends EventEmitter {
    start(apps: string | string[], subscribeAll?: boolean): Promise<void>;
    stop(): void;
    asterisk: { getInfo(): Promise<{ system?: { version: string } }> };
    channels: { list(): Promise<unknown[]> };
  }

  export function connect(url: string, user: string, pass: string): Promise<LegacyClient>;
  const ari: { connect: typeof connect };
  export default ari;
}
