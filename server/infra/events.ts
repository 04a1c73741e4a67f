import { EventEmitter } from 'node:events';

/**
 * In-process domain event bus. Modules declare their event names and payloads
 * in their own events.ts and merge them into {@link DomainEvents} by
 * declaration merging; the realtime gateway fans them out across processes.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DomainEvents {}

export type EventName = keyof DomainEvents & string;

export interface EventBus {
  publish<K extends EventName>(name: K, payload: DomainEvents[K]): void;
  subscribe<K extends EventName>(name: K, handler: (payload: DomainEvents[K]) => void): () => void;
}

export function createEventBus(onHandlerError: (name: string, err: unknown) => void): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(name, payload) {
      // A failing subscriber must not break the publisher or other subscribers.
      for (const listener of emitter.listeners(name)) {
        try {
          (listener as (p: unknown) => void)(payload);
        } catch (err) {
          onHandlerError(name, err);
        }
      }
    },
    subscribe(name, handler) {
      emitter.on(name, handler as (p: unknown) => void);
      return () => emitter.off(name, handler as (p: unknown) => void);
    },
  };
}
