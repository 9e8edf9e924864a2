// @ts-check
/**
 * ESLint rule `quantlab/layering`: the import rules of DESIGN.md, checked on every import,
 * re-export and dynamic import with a literal specifier.
 *
 *   core      imports nothing of ours outside core
 *   shared    imports nothing of ours outside shared
 *   renderer  imports only shared (and itself)
 *   preload   imports only shared (and electron)
 *   main      may import core and shared; main/app is the only room that imports electron
 *   cli       may import core, shared and main/* except main/app
 *   packages: electron only in main/app and preload; better-sqlite3 only in main/store;
 *             @devicefarmer/adbkit only in main/devices.
 */
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '..', '..', 'src');

/** The room a file belongs to: 'core', 'shared', 'renderer', 'preload', 'cli', 'main/app', 'main/server', … or null outside src. */
function roomOf(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  if (parts[0] === 'main') return parts.length > 2 ? `main/${parts[1]}` : 'main';
  return parts[0];
}

const layer = (room) => (room && room.startsWith('main') ? 'main' : room);

/** May code in room `from` import code in room `to`? Returns a reason when not. */
function roomAllowed(from, to) {
  if (from === to || to === null) return null;
  const lf = layer(from);
  const lt = layer(to);
  switch (lf) {
    case 'core':
      return `src/core imports nothing of ours outside src/core (this imports src/${to})`;
    case 'shared':
      return `src/shared imports nothing of ours outside src/shared (this imports src/${to})`;
    case 'renderer':
      return lt === 'shared' ? null : `the renderer imports only src/shared (this imports src/${to}); talk to main through window.api`;
    case 'preload':
      return lt === 'shared' ? null : `the preload imports only src/shared (this imports src/${to})`;
    case 'main':
      if (lt === 'core' || lt === 'shared' || lt === 'main') {
        if (to === 'main/app' && from !== 'main/app') return `only src/main/app may import src/main/app (this is src/${from})`;
        return null;
      }
      return `src/main may import src/core, src/shared and src/main only (this imports src/${to})`;
    case 'cli':
      if (to === 'main/app') return 'the CLI may not import src/main/app (the Electron-only room)';
      return lt === 'core' || lt === 'shared' || lt === 'main' ? null : `the CLI may import src/core, src/shared and src/main only (this imports src/${to})`;
    default:
      return null;
  }
}

/** Packages tied to one room. */
const PACKAGE_ROOMS = [
  { test: (s) => s === 'electron' || s.startsWith('electron/'), rooms: ['main/app', 'preload'], what: 'electron', where: 'src/main/app (and the preload)' },
  { test: (s) => s === 'better-sqlite3', rooms: ['main/store'], what: 'better-sqlite3', where: 'src/main/store' },
  { test: (s) => s === '@devicefarmer/adbkit' || s.startsWith('@devicefarmer/adbkit/'), rooms: ['main/devices'], what: '@devicefarmer/adbkit', where: 'src/main/devices' },
];

/** Packages the renderer may not use (Node-only). */
const NODE_ONLY = (s) => s.startsWith('node:') || ['fs', 'path', 'child_process', 'worker_threads', 'os', 'net', 'http', 'crypto'].includes(s);

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the QuantLab layering rules of DESIGN.md' },
    schema: [],
    messages: { forbidden: 'Layering: {{reason}}.' },
  },
  create(context) {
    const file = context.filename;
    const from = roomOf(file);
    if (!from) return {};
    function check(node, source) {
      if (!source || typeof source.value !== 'string') return;
      const spec = source.value;
      let reason = null;
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        reason = roomAllowed(from, roomOf(target));
        if (!reason && roomOf(target) === null && !target.startsWith(SRC)) {
          reason = `src/ code may not import files outside src/ ('${spec}')`;
        }
      } else {
        for (const p of PACKAGE_ROOMS) {
          if (p.test(spec) && !p.rooms.includes(from)) reason = `only ${p.where} may import ${p.what} (this is src/${from})`;
        }
        if (!reason && (from === 'renderer' || from === 'shared' || from === 'preload') && NODE_ONLY(spec)) {
          reason = `src/${from} runs in a browser context and may not import the Node module '${spec}'`;
        }
      }
      if (reason) context.report({ node, messageId: 'forbidden', data: { reason } });
    }
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0]?.type === 'Literal') {
          check(node, node.arguments[0]);
        }
      },
    };
  },
};

export default { meta: { name: 'quantlab' }, rules: { layering: rule } };
