import fc from 'fast-check';
import t from 'tap';
import { createMinHeap } from '../../../server/acd/min-heap.js';
import { createSortedList } from '../../../server/acd/sorted-list.js';

type Op = { add: number } | { del: number } | { count: number };

const cmp = (a: number, b: number): number => a - b;

t.test('given random adds and deletes when compared with a sorted array then the sorted list agrees', async (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ add: fc.integer({ min: 0, max: 2_000 }) }),
          fc.record({ del: fc.integer({ min: 0, max: 2_000 }) }),
          fc.record({ count: fc.integer({ min: -10, max: 2_010 }) }),
        ),
        { maxLength: 3_000 },
      ),
      (ops: Op[]) => {
        const list = createSortedList<number>(cmp);
        const model: number[] = [];
        for (const op of ops) {
          if ('add' in op) {
            if (model.includes(op.add)) continue; // a total order: equal means same element
            list.add(op.add);
            model.push(op.add);
            model.sort(cmp);
          } else if ('del' in op) {
            const i = model.indexOf(op.del);
            if (list.delete(op.del) !== i >= 0) return false;
            if (i >= 0) model.splice(i, 1);
          } else if (list.countBefore(op.count) !== model.filter((x) => x < op.count).length) {
            return false;
          }
          if (list.size !== model.length || list.first() !== model[0]) return false;
        }
        return JSON.stringify([...list]) === JSON.stringify(model);
      },
    ),
    { numRuns: 200, seed: 11 },
  );
  t.pass('sorted list matches the model');
});

t.test('given random pushes and pops when compared with sorting then the heap pops in order', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constant(-1)), { maxLength: 2_000 }), (ops) => {
      const heap = createMinHeap<number>(cmp);
      const model: number[] = [];
      for (const op of ops) {
        if (op >= 0) {
          heap.push(op);
          model.push(op);
          model.sort(cmp);
        } else if (heap.pop() !== model.shift()) {
          return false;
        }
        if (heap.peek() !== model[0] || heap.size !== model.length) return false;
      }
      return true;
    }),
    { numRuns: 200, seed: 12 },
  );
  t.pass('heap matches the model');
});
