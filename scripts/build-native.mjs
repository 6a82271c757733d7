#!/usr/bin/env node
// Builds the optional native kernels (native/*.c → build/Release/tlm_native.node) with the
// node-gyp that npm ships, against the Node headers npm is set to use (npm config nodedir) or the
// machine's (/usr/include/node). Never fails the build: without a compiler or headers tlm runs on
// its WebAssembly kernels, and this says so once. Rebuilds only when the source is newer.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build/Release/tlm_native.node');
const sources = [...readdirSync(join(root, 'native')).map((f) => join(root, 'native', f)), join(root, 'binding.gyp')];
const fresh = existsSync(addon) && sources.every((s) => statSync(s).mtimeMs <= statSync(addon).mtimeMs);
if (!fresh && process.env.TLM_NO_NATIVE !== '1') {
  // npm's own node-gyp: beside the npm that runs us, or beside this node.
  const npmDir = process.env.npm_execpath ? dirname(dirname(process.env.npm_execpath)) : join(dirname(process.execPath), '../lib/node_modules/npm');
  const gyp = [process.env.npm_config_node_gyp, join(npmDir, 'node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'].find((p) => p && existsSync(p));
  const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : null);
  try {
    if (!gyp) throw new Error("npm's node-gyp was not found");
    execFileSync(process.execPath, [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    // One line that says why: what was missing (make, cc, headers: "not found", "No such file"), then
    // node-gyp's own error ("`make` failed with exit code: 2"), else the first line that says error.
    const lines = String(err.stderr ?? err.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean);
    const missing = lines.find((l) => /not found|not installed|no such file|command not found/i.test(l) && !/^gyp (info|ERR! (cwd|command|stack at))/.test(l));
    const gypError = lines.find((l) => l.startsWith('gyp ERR! stack Error: '))?.slice('gyp ERR! stack Error: '.length);
    const why = [missing, gypError].filter(Boolean).join('; ') || lines.find((l) => /error/i.test(l)) || String(err.message).split('\n')[0];
    console.log(`build: the native kernels were not built (${why}); tlm runs on its WebAssembly kernels`);
  }
}
