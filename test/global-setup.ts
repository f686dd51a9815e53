// Builds the daemon and the UI once before any test file runs, so tests that spawn dist/server/main.js
// or serve dist/ui never race each other rebuilding the same files.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}
