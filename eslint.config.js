// Lint rules, including the project's boundaries: the pure core stays pure,
// only config/ reads the environment, only server/telephony talks ARI,
// adapters import only their contract, modules keep to their own tables.
import path from 'node:path';
import tseslint from 'typescript-eslint';

const ROOT = path.dirname(new URL(import.meta.url).pathname);
const rel = (file) => path.relative(ROOT, file).split(path.sep).join('/');

/** Pure folders and the folders each may import from. */
const PURE = {
  'server/domain/': ['server/domain/'],
  'server/acd/': ['server/acd/', 'server/domain/'],
  'ivr/': ['ivr/', 'server/domain/'],
};

const pureRoot = (file) => Object.keys(PURE).find((p) => rel(file).startsWith(p));

const pureCore = {
  meta: { type: 'problem', schema: [], messages: { m: '{{what}} — the pure core ({{root}}) does no I/O and reads no clock or randomness: {{hint}}' } },
  create(context) {
    const root = pureRoot(context.filename);
    if (!root) return {};
    const report = (node, what, hint) => context.report({ node, messageId: 'm', data: { what, root, hint } });
    const checkSource = (node, source) => {
      if (typeof source !== 'string') return;
      if (!source.startsWith('.')) return report(node, `import of "${source}"`, 'take what you need as an input or a port');
      const target = rel(path.resolve(path.dirname(context.filename), source));
      if (!PURE[root].some((allowed) => target.startsWith(allowed))) {
        report(node, `import of "${source}"`, `it may import only from ${PURE[root].join(', ')}`);
      }
    };
    return {
      ImportDeclaration: (n) => checkSource(n, n.source.value),
      ExportAllDeclaration: (n) => checkSource(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && checkSource(n, n.source.value),
      ImportExpression: (n) => report(n, 'dynamic import', 'imports are static'),
      NewExpression: (n) => n.callee.type === 'Identifier' && n.callee.name === 'Date' && report(n, 'new Date()', 'pass `now` in'),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && ['Date', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'require', 'fetch'].includes(n.callee.name)) {
          report(n, `${n.callee.name}()`, 'timers and I/O belong to the shell; return an action instead');
        }
      },
      MemberExpression: (n) => {
        const o = n.object.type === 'Identifier' ? n.object.name : '';
        const p = n.property.type === 'Identifier' ? n.property.name : '';
        if ((o === 'Date' && p === 'now') || (o === 'Math' && p === 'random') || (o === 'performance' && p === 'now') || (o === 'crypto')) {
          report(n, `${o}.${p}`, 'pass time and ids in; use a seeded generator passed as input');
        }
        if (o === 'process' || o === 'console') report(n, `${o}.${p}`, 'the shell logs and reads the environment');
      },
    };
  },
};

const envOnlyInConfig = {
  meta: { type: 'problem', schema: [], messages: { m: 'process.env is read only in config/ (config is read once, validated and passed in)' } },
  create(context) {
    if (rel(context.filename).startsWith('config/') || rel(context.filename).startsWith('test/')) return {};
    return {
      MemberExpression: (n) => {
        if (n.object.type === 'Identifier' && n.object.name === 'process' && n.property.type === 'Identifier' && n.property.name === 'env') {
          context.report({ node: n, messageId: 'm' });
        }
      },
    };
  },
};

const importBoundaries = {
  meta: { type: 'problem', schema: [], messages: { m: '{{why}}' } },
  create(context) {
    const file = rel(context.filename);
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (source === 'ari-client' && !file.startsWith('server/telephony/') && !file.startsWith('test/telephony/')) {
        context.report({ node, messageId: 'm', data: { why: 'only server/telephony talks to Asterisk (ari-client)' } });
      }
      if (!source.startsWith('.')) return;
      const target = rel(path.resolve(path.dirname(context.filename), source));
      if (file.startsWith('adapters/')) {
        const own = file.split('/').slice(0, 2).join('/') + '/';
        const ok = target.startsWith(own) || target === 'adapters/contract.js' || target === 'adapters/contract.ts';
        if (!ok) context.report({ node, messageId: 'm', data: { why: `an adapter imports only its own folder and adapters/contract (not ${target})` } });
      }
      const mod = /^server\/modules\/([^/]+)\//.exec(file);
      const tgt = /^server\/modules\/([^/]+)\/(store)\.js$/.exec(target);
      if (mod && tgt && tgt[1] !== mod[1]) {
        context.report({ node, messageId: 'm', data: { why: `module ${mod[1]} may not use module ${tgt[1]}'s store (its tables); call its service` } });
      }
      if (file.startsWith('server/') && !file.startsWith('server/telephony/') && target.startsWith('server/telephony/') && !['server/telephony/index.js', 'server/telephony/from-config.js'].includes(target) && !file.startsWith('server/main.ts')) {
        context.report({ node, messageId: 'm', data: { why: 'outside server/telephony use its public entry (server/telephony/index.js)' } });
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.tap/**', 'server/ui/**/vendor/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    plugins: { ipcc: { rules: { 'pure-core': pureCore, 'env-only-in-config': envOnlyInConfig, 'import-boundaries': importBoundaries } } },
    rules: {
      'ipcc/pure-core': 'error',
      'ipcc/env-only-in-config': 'error',
      'ipcc/import-boundaries': 'error',
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  { files: ['bin/**', 'test/**', 'docker/**', 'eslint.config.js'], rules: { 'no-console': 'off' } },
);
