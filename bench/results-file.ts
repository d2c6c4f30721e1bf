import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** bench/results/latest.json (gitignored): the default run's figures, and the last soak's under `soak`. */
export const LATEST = fileURLToPath(new URL('./results/latest.json', import.meta.url));

export function readLatest(): Record<string, unknown> {
  try {
    return existsSync(LATEST) ? (JSON.parse(readFileSync(LATEST, 'utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function writeLatest(results: object): void {
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(LATEST, `${JSON.stringify(results, null, 2)}\n`);
}
