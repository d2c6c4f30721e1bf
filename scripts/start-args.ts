import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The node arguments `npm start` runs the engine with (its flags, then the entry point), read from the
 * start script of `root`'s package.json, so that whatever starts engine processes of its own (the bench,
 * the tests) runs them exactly as deployed.
 */
export function startArgs(root: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (node !== 'node') throw new Error(`package.json's start script must run node, not ${node}`);
  return args;
}
