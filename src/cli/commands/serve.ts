// tlm serve: the HTTP server (src/serve) on a host and port. Prints the bound URL on stdout (so
// scripts and tests can read the port chosen for --port 0); SIGTERM/SIGINT refuse new requests,
// let the ones in flight finish, then exit 0.

import { basename, resolve } from 'node:path';
import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { deviceFlag } from '../device.js';
import { createServer } from '../../serve/server.js';
import { DEFAULT_LIMITS } from '../../serve/schemas.js';
import type { ModelSpec } from '../../serve/protocol.js';

const spec: CommandSpec = {
  name: 'serve',
  usage: 'serve --model [NAME=]DIR [--model ...] [flags]',
  summary: 'Serve models over HTTP: an OpenAI-compatible API (/v1/completions, /v1/chat/completions, /v1/embeddings), task routes and a playground.',
  flags: {
    model: { type: 'strings', help: 'a model directory, named NAME (default: the directory\'s name); repeat for several models' },
    host: { type: 'string', help: 'address to bind (0.0.0.0 exposes the server to the network)', default: '127.0.0.1' },
    port: { type: 'number', help: 'port (0: any free port; the URL is printed)', default: 8080, integer: true, min: 0, max: 65535 },
    'api-key': { type: 'string', help: 'require Authorization: Bearer KEY on every route but /health (default: env TLM_API_KEY)' },
    'max-batch': { type: 'number', help: 'sequences generated at once per model', default: 16, integer: true, min: 1 },
    'max-queue': { type: 'number', help: 'sequences waiting for a batch slot before requests get 429', default: 64, integer: true, min: 0 },
    'max-tokens': { type: 'number', help: 'the largest max_tokens a request may ask for', default: DEFAULT_LIMITS.maxTokens, integer: true, min: 1 },
    'max-n': { type: 'number', help: 'the most choices (n × prompts) per request', default: DEFAULT_LIMITS.maxN, integer: true, min: 1 },
    'body-limit': { type: 'number', help: 'largest request body in bytes (larger: 413)', default: 1 << 20, integer: true, min: 1024 },
    'log-requests': { type: 'boolean', help: 'log each request as JSON on stderr' },
    device: deviceFlag,
  },
};

/** "name=DIR" or "DIR" (named after its last path component). */
export function parseModelFlag(v: string): ModelSpec {
  const m = /^([\w.-]+)=(.+)$/.exec(v);
  if (m) return { name: m[1]!, dir: resolve(m[2]!) };
  const dir = resolve(v);
  return { name: basename(dir), dir };
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    const specs = ((f.model as string[] | undefined) ?? []).map(parseModelFlag);
    if (specs.length === 0) throw new CliError('tlm serve: --model DIR is required');
    const apiKey = (f['api-key'] as string | undefined) ?? process.env.TLM_API_KEY;
    if (apiKey !== undefined && apiKey.trim() === '') throw new CliError('tlm serve: --api-key (or TLM_API_KEY) must not be empty');
    const app = await createServer({
      models: specs, apiKey, maxBatch: f['max-batch'] as number, maxQueue: f['max-queue'] as number, device: f.device as 'cpu' | 'webgpu',
      bodyLimit: f['body-limit'] as number, logger: f['log-requests'] === true,
      limits: { maxTokens: f['max-tokens'] as number, maxN: f['max-n'] as number },
    });
    let address: string;
    try {
      address = await app.listen({ host: f.host as string, port: f.port as number });
    } catch (err) {
      await app.close();
      throw new CliError(`tlm serve: cannot listen on ${f.host}:${f.port}: ${(err as Error).message}`);
    }
    console.error(`tlm serve: models ${specs.map((s) => `${s.name} (${s.dir})`).join(', ')}${apiKey ? '; API key required' : ''}`);
    console.log(`tlm serve: listening on ${address}`);
    await new Promise<void>((done) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) { console.error(`tlm serve: ${signal} again, exiting now`); process.exit(1); }
        stopping = true;
        console.error(`tlm serve: ${signal}: finishing requests in flight, refusing new ones`);
        app.shutdown().then(() => { console.error('tlm serve: stopped'); done(); },
          (err: unknown) => { console.error(`tlm serve: shutdown failed: ${(err as Error).message}`); process.exit(1); });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
    // The CPU backend's threads and the like would keep the process up: the server is done.
    process.exit(0);
  },
};
