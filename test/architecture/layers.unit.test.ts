import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { API } from 'typescript/unstable/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Folders depend one way: a module imports only modules of the layers below its own, never a peer's
 * and never one above (README, "Shape"). A unit is a folder of src/, a file at the root of src/, or
 * workers/. Imports are read by the TypeScript compiler itself (each file's `imports`, type-only ones
 * included: a type is a dependency too), parsing only: no library, no resolution, no type check.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  // The process: reads the configuration, starts the roles, stops them in order.
  ['src/main.ts'],
  ['src/run.ts', 'src/cli', 'src/index.ts'],
  // Adapters: HTTP routes, BullMQ workers, the in-process producer. Parse, call one domain function, map.
  ['src/http', 'workers', 'src/producer.ts'],
  // The scheduled jobs (what each job name runs) and the cron that triggers them.
  ['src/jobs'],
  // The engine's own watch: ledger invariants checked, broken ones alerted.
  ['src/reconcile'],
  // What every role is built from (connections, queues, caches, the ledger's observers), and the checks before a start.
  ['src/engine.ts', 'src/startup.ts'],
  // Outbox, deliveries, warnings (an observer of the ledger's flush) and alerts.
  ['src/notify'],
  // Domain modules, each above the ones it reads.
  ['src/billing', 'src/insight', 'src/metrics.ts'],
  ['src/accounts', 'src/queues.ts'],
  ['src/rewards', 'src/usage'],
  ['src/pricing'],
  ['src/catalog'],
  // The only code that writes tokens.
  ['src/ledger'],
  // Read by everyone: the audit trail, the configuration.
  ['src/audit', 'src/config.ts'],
  // Over the Redis connection: the shared clock, and writes a replica must acknowledge.
  ['src/clock.ts', 'src/redis-replication.ts'],
  ['src/db', 'src/calendar', 'src/notify-config.ts', 'src/errors.ts', 'src/log.ts', 'src/redis.ts', 'src/validation.ts', 'src/shutdown-deadline.ts'],
];

const root = path.resolve(import.meta.dirname, '../..');

/** The unit a file belongs to: `src/<folder>`, `src/<file>.ts` at the root of src/, or `workers`. */
function unitOf(file: string): string {
  const parts = path.relative(root, file).replace(/\.js$/, '.ts').split(path.sep);
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : parts.join('/');
  return parts[0]!;
}

const layerOf = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

interface ImportEdge {
  file: string;
  imports: string;
}

/** Every relative import of src/ and workers/ that leaves its unit against the order, with why. */
function backEdges(edges: readonly ImportEdge[]): string[] {
  const problems: string[] = [];
  for (const { file, imports } of edges) {
    const from = unitOf(path.join(root, file));
    const to = unitOf(path.resolve(root, path.dirname(file), imports));
    if (from === to) continue;
    const a = layerOf.get(from);
    const b = layerOf.get(to);
    if (a === undefined || b === undefined) {
      problems.push(`${file} imports ${imports}: ${a === undefined ? from : to} is in no layer (add it to LAYERS)`);
    } else if (b <= a) {
      problems.push(`${file} imports ${imports}: ${from} (layer ${a}) may import only layers below it, and ${to} is ${b === a ? 'its peer' : `above it (layer ${b})`}`);
    }
  }
  return problems;
}

describe('layers', () => {
  let api: API;
  let edges: ImportEdge[];
  let files: string[];
  const scratch = mkdtempSync(path.join(tmpdir(), 'layers-'));
  beforeAll(() => {
    const project = path.join(scratch, 'tsconfig.json');
    writeFileSync(
      project,
      JSON.stringify({
        compilerOptions: { noResolve: true, noLib: true, types: [], module: 'nodenext', moduleResolution: 'nodenext' },
        include: [path.join(root, 'src/**/*.ts'), path.join(root, 'workers/**/*.ts')],
      }),
    );
    api = new API({ cwd: root });
    const program = api.updateSnapshot({ openProject: project }).getProjects()[0]!.program;
    files = program.getSourceFileNames().map((f) => path.relative(root, f));
    edges = files.flatMap((file) =>
      program
        .getSourceFile(path.join(root, file))!
        .imports.map((node) => (node as unknown as { text: string }).text)
        .filter((specifier) => specifier.startsWith('.'))
        .map((imports) => ({ file, imports })),
    );
  });
  afterAll(() => {
    api?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('reads the imports of every module of src/ and workers/', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(edges).toContainEqual({ file: 'src/usage/check-reads.ts', imports: '../ledger/spendable.js' });
    expect(edges).toContainEqual({ file: 'workers/usage.ts', imports: '../src/usage/apply-usage.js' });
  });

  it('places every unit in exactly one layer', () => {
    const declared = LAYERS.flat();
    expect(declared.length).toBe(new Set(declared).size);
    expect([...new Set(files.map((f) => unitOf(path.join(root, f))))].filter((u) => !layerOf.has(u))).toEqual([]);
  });

  it('every import goes down the layers', () => {
    expect(backEdges(edges)).toEqual([]);
  });

  it('names the file and the import of a back edge', () => {
    expect(backEdges([{ file: 'src/ledger/holds.ts', imports: '../billing/periods.js' }])).toEqual([
      'src/ledger/holds.ts imports ../billing/periods.js: src/ledger (layer 12) may import only layers below it, and src/billing is above it (layer 7)',
    ]);
    expect(backEdges([{ file: 'src/billing/renewal.ts', imports: '../insight/rollups.js' }])).toEqual([
      'src/billing/renewal.ts imports ../insight/rollups.js: src/billing (layer 7) may import only layers below it, and src/insight is its peer',
    ]);
    expect(backEdges([{ file: 'src/usage/check.ts', imports: '../../test/support/engine.js' }])).toEqual([
      'src/usage/check.ts imports ../../test/support/engine.js: test is in no layer (add it to LAYERS)',
    ]);
  });
});
