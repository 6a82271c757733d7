#!/usr/bin/env node
import '../index.js'; // registers the backends
import { main } from './main.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(`tlm: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.TLM_DEBUG) console.error(err);
  else console.error('(set TLM_DEBUG=1 for the stack trace)');
  process.exitCode = 1;
});
