/**
 * Serial lanes by key: work on one key (a call, a session) runs one step at a time, in the order
 * it was asked for, whatever asks for it; different keys run independently. A failed step does
 * not stop the lane. Each call returns the step's own result.
 */
export function createLanes() {
  const lanes = new Map<string, Promise<void>>();
  return function serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = lanes.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    lanes.set(key, tail);
    void tail.then(() => {
      if (lanes.get(key) === tail) lanes.delete(key);
    });
    return run;
  };
}
