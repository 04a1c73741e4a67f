import t from 'tap';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: new URL('../../../', import.meta.url).pathname });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId?.startsWith('ipcc/')).map((m) => `${m.ruleId}: ${m.message}`);
}

t.test('given the pure core when it reads the clock, randomness or I/O then lint fails', async (t) => {
  t.match(await problems('server/acd/x.ts', 'export const f = (): number => Date.now();\n'), [/ipcc\/pure-core: Date\.now/]);
  t.match(await problems('server/domain/x.ts', 'export const f = (): number => Math.random();\n'), [/Math\.random/]);
  t.match(await problems('ivr/x.ts', "import { readFile } from 'node:fs';\nexport const f = readFile;\n"), [/import of "node:fs"/]);
  t.match(await problems('server/acd/x.ts', 'export const f = (): Date => new Date();\n'), [/new Date\(\)/]);
  t.match(await problems('server/acd/x.ts', 'export const f = (): void => { setTimeout(() => 1, 5); };\n'), [/setTimeout\(\)/]);
  t.match(await problems('server/domain/x.ts', "import { a } from '../acd/a.js';\nexport const f = a;\n"), [/may import only from server\/domain/]);
});

t.test('given the pure core when it imports only its allowed folders then lint passes', async (t) => {
  t.same(await problems('server/acd/x.ts', "import type { Task } from '../domain/task.js';\nexport const f = (t: Task, now: number): number => now;\n"), []);
});

t.test('given code outside config/ when it reads process.env then lint fails', async (t) => {
  t.match(await problems('server/modules/x/service.ts', 'export const p = process.env.PORT;\n'), [/ipcc\/env-only-in-config/]);
  t.same(await problems('config/x.ts', 'export const p = process.env.PORT;\n'), []);
});

t.test('given code outside server/telephony when it imports ari-client then lint fails', async (t) => {
  t.match(await problems('server/modules/x/service.ts', "import ari from 'ari-client';\nexport const a = ari;\n"), [/only server\/telephony talks to Asterisk/]);
});

t.test('given an adapter or module reaching into another then lint fails', async (t) => {
  t.match(await problems('adapters/sms/x.ts', "import { a } from '../../server/app.js';\nexport const b = a;\n"), [/an adapter imports only its own folder/]);
  t.same(await problems('adapters/sms/x.ts', "import type { Envelope } from '../contract.js';\nexport type E = Envelope;\n"), []);
  t.match(await problems('server/modules/users/service.ts', "import { createAuthStore } from '../auth/store.js';\nexport const s = createAuthStore;\n"), [/may not use module auth's store/]);
});
