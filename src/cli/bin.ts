#!/usr/bin/env node
import '../index.js'; // registers the backends
import { main } from './main.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  console.error(`tlm: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.TLM_DEBUG) console.error(err); // the stack, for bug reports
  process.exitCode = 1;
});
