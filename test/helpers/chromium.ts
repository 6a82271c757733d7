// Shared by the browser tests: Debian's Chromium (CI installs it), driven by playwright-core.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Launches Chromium, or fails naming the missing binary. Call it before starting a server: one
 * started before a launch that throws would keep the test process alive.
 */
export function launchChromium(args: string[] = []): Promise<Browser> {
  assert.ok(existsSync(chromiumPath), `no chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH to a Chromium binary)`);
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', ...args] });
}
