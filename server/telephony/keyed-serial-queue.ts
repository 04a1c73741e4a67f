/**
 * Runs tasks in order per key: tasks of one key never overlap or reorder, tasks of different
 * keys run independently. `push` only enqueues and returns at once, so the code that feeds
 * the queue (the ARI websocket's read path) never waits for a handler. Nothing is merged or
 * dropped.
 *
 * A task that does not settle within `taskTimeoutMs` is reported through `onError` and the
 * key moves on to its next task, so one stuck handler cannot stall a call for good.
 */
export interface KeyedSerialQueueOptions {
  /** Called when a task throws, rejects or times out. Must not throw. */
  onError: (error: unknown, key: string) => void;
  /** Give up waiting for a task after this long (ms). 0 disables the limit. */
  taskTimeoutMs?: number;
  /** Called once each time a key's backlog reaches this depth (a slow consumer). */
  highWaterMark?: number;
  onHighWater?: (key: string, depth: number) => void;
  /** Timer functions; tests may inject their own. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export type Task = () => void | Promise<void>;

export interface KeyedSerialQueue {
  push(key: string, task: Task): void;
  /** Tasks waiting or running, over all keys. */
  pending(): number;
  /** Keys with work waiting or running. */
  activeKeys(): number;
  /** Resolves true when every queue is empty, false if `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean>;
}

export class TaskTimeoutError extends Error {
  constructor(readonly key: string, readonly timeoutMs: number) {
    super(`a task for ${key} did not finish within ${timeoutMs} ms`);
    this.name = 'TaskTimeoutError';
  }
}

interface Lane {
  tasks: Task[];
  head: number;
  warned: boolean;
}

export function createKeyedSerialQueue(options: KeyedSerialQueueOptions): KeyedSerialQueue {
  const lanes = new Map<string, Lane>();
  const taskTimeoutMs = options.taskTimeoutMs ?? 0;
  const highWaterMark = options.highWaterMark ?? 0;
  const setTimer = options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((h: unknown) => clearTimeout(h as NodeJS.Timeout));
  let pendingCount = 0;
  let idleWaiters: Array<() => void> = [];

  const runOne = (key: string, task: Task): Promise<void> =>
    new Promise<void>((resolve) => {
      let settled = false;
      let timer: unknown;
      const finish = (error?: unknown, failed = false) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimer(timer);
        if (failed) safeReport(error, key);
        resolve();
      };
      if (taskTimeoutMs > 0) {
        timer = setTimer(() => finish(new TaskTimeoutError(key, taskTimeoutMs), true), taskTimeoutMs);
      }
      try {
        const result = task();
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).then(
            () => finish(),
            (error: unknown) => finish(error, true),
          );
        } else {
          finish();
        }
      } catch (error) {
        finish(error, true);
      }
    });

  const safeReport = (error: unknown, key: string) => {
    try {
      options.onError(error, key);
    } catch {
      // The reporter must not break the queue.
    }
  };

  const drain = async (key: string, lane: Lane) => {
    while (lane.head < lane.tasks.length) {
      const task = lane.tasks[lane.head] as Task;
      lane.tasks[lane.head] = noop;
      lane.head += 1;
      await runOne(key, task);
      pendingCount -= 1;
      if (lane.head > 1024 && lane.head * 2 > lane.tasks.length) {
        lane.tasks = lane.tasks.slice(lane.head);
        lane.head = 0;
      }
    }
    lanes.delete(key);
    if (pendingCount === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  return {
    push(key, task) {
      pendingCount += 1;
      const lane = lanes.get(key);
      if (lane) {
        lane.tasks.push(task);
        const depth = lane.tasks.length - lane.head;
        if (highWaterMark > 0 && depth >= highWaterMark && !lane.warned) {
          lane.warned = true;
          options.onHighWater?.(key, depth);
        }
        return;
      }
      const fresh: Lane = { tasks: [task], head: 0, warned: false };
      lanes.set(key, fresh);
      // Start on a microtask: the caller's stack (a socket callback) never runs handler code.
      queueMicrotask(() => {
        void drain(key, fresh);
      });
    },
    pending: () => pendingCount,
    activeKeys: () => lanes.size,
    whenIdle(timeoutMs) {
      if (pendingCount === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimer(() => {
          idleWaiters = idleWaiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
        const done = () => {
          clearTimer(timer);
          resolve(true);
        };
        idleWaiters.push(done);
      });
    },
  };
}

const noop: Task = () => undefined;
