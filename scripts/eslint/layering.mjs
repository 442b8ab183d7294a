// ESLint rule: imports point down only (../shared/design/ARCHITECTURE.md).
// Each file belongs to a layer by folder; an import of another project file is allowed only when the
// target's layer is in the importer's allowed set. Node built-ins are forbidden in shared/ and renderer/.
import path from 'node:path';
import { builtinModules } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

// Ordered from the bottom. A layer may import itself and any layer listed in `may`. Every folder
// under main/ has a layer (test/layering.test.ts checks that), so a new folder must be placed here.
const CORE = ['shared', 'util', 'wire', 'crypto', 'transport', 'backbone', 'observe', 'node'];
const LAYERS = [
  { name: 'shared', dir: 'shared', may: [] },
  { name: 'util', dir: 'main/util', may: ['shared'] },
  { name: 'wire', dir: 'main/wire', may: ['shared', 'util'] },
  { name: 'crypto', dir: 'main/crypto', may: ['shared', 'util', 'wire'] },
  { name: 'transport', dir: 'main/transport', may: ['shared', 'util', 'wire'] },
  { name: 'backbone', dir: 'main/backbone', may: ['shared', 'util', 'wire', 'crypto', 'observe'] },
  { name: 'observe', dir: 'main/observe', may: ['shared', 'util'] },
  { name: 'node', dir: 'main/node', may: ['shared', 'util', 'wire', 'crypto', 'transport', 'backbone', 'observe'] },
  // The node's API (the console contract implemented over a node): below every face, imports none.
  { name: 'api', dir: 'main/api', may: CORE },
  // Faces. daemon: the IPC server over api. console: the web console and the launcher, which starts
  // or attaches to a daemon. cli: pilotctl (the daemon's client, `daemon start`, `console`).
  // electron: the app's main process over console. No face imports one above it.
  { name: 'daemon', dir: 'main/daemon', may: [...CORE, 'api'] },
  { name: 'console', dir: 'main/console', may: [...CORE, 'api', 'daemon'] },
  // gateway: `pilotctl gateway` (TCP on local IPs ↔ Pilot streams) over the daemon's IPC client.
  { name: 'gateway', dir: 'main/gateway', may: [...CORE, 'daemon'] },
  { name: 'cli', dir: 'main/cli', may: [...CORE, 'api', 'daemon', 'console', 'gateway'] },
  { name: 'electron', dir: 'main/electron', may: [...CORE, 'api', 'console'] },
  { name: 'renderer', dir: 'renderer', may: ['shared'] },
];

/** The folders that have a layer (for the test that every folder under main/ is covered). */
export const LAYER_DIRS = LAYERS.map((l) => l.dir);

function layerOf(file) {
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  let best;
  for (const l of LAYERS) {
    if (rel === l.dir || rel.startsWith(l.dir + '/')) {
      if (!best || l.dir.length > best.dir.length) best = l;
    }
  }
  return best;
}

const NO_NODE = new Set(['shared', 'renderer']);

export default {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the downward-only layering of the project' },
    schema: [],
    messages: {
      upward: "layer '{{from}}' ({{file}}) may not import '{{spec}}' (layer '{{to}}'): imports point down only",
      nodeBuiltin: "layer '{{from}}' must not import the Node module '{{spec}}'",
      electron: "layer '{{from}}' must not import electron",
    },
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (!from) return {};
    function check(node, spec) {
      if (typeof spec !== 'string') return;
      if (NO_NODE.has(from.name) && builtins.has(spec)) {
        context.report({ node, messageId: 'nodeBuiltin', data: { from: from.name, spec } });
        return;
      }
      if (spec === 'electron' && from.name !== 'electron') {
        context.report({ node, messageId: 'electron', data: { from: from.name } });
        return;
      }
      if (!spec.startsWith('.')) return;
      const target = layerOf(path.resolve(path.dirname(file), spec));
      if (!target) return;
      if (target.name === from.name || from.may.includes(target.name)) return;
      context.report({
        node,
        messageId: 'upward',
        data: { from: from.name, to: target.name, spec, file: path.relative(ROOT, file) },
      });
    }
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};
