import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, whenExiting } from './private-servers.js';

export interface PrivatePostgres {
  port: number;
  /** A URL for one database of this cluster (the engine creates it if missing). */
  url(database: string): string;
  /** pg_ctl stop: `fast` rolls back open transactions and disconnects everyone; `immediate` is a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The server's log, for a failing test's message. */
  log(): string;
  /** Stops the cluster at once and deletes it. */
  remove(): Promise<void>;
}

function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  return found ?? ''; // else rely on PATH
}

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` OS user. */
function osUser(): { runAs: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { runAs: [] };
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0) throw new Error('running as root, and there is no `postgres` OS user to own a private PostgreSQL cluster');
  return { runAs: ['runuser', '-u', 'postgres', '--'], uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PrivatePostgresOptions {
  /**
   * Make this cluster a streaming replica of that one: a base backup of it (`pg_basebackup -R`, which
   * writes standby.signal and primary_conninfo) instead of initdb, then started as a hot standby.
   */
  standbyOf?: PrivatePostgres;
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp folder, pg_ctl on a free port), for tests
 * that stop or restart the database. Trust authentication; the superuser is named after the OS user
 * the tests run as, so the engine connects as it would to the shared server. It can stream its WAL to
 * a replica (wal_level=replica; initdb trusts replication connections from loopback).
 */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = binDir();
  const tool = (name: string) => (bin ? join(bin, name) : name);
  const owner = osUser();
  const dir = mkdtempSync(join(tmpdir(), 'tokens-pg-'));
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const superuser = userInfo().username;
  const port = await freePort();

  const run = (name: string, args: string[], timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const [command, ...rest] = [...owner.runAs, tool(name), ...args];
      execFile(command!, rest, { cwd: dir, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${name} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}\n${readLog()}`));
        else resolve(stdout);
      });
    });
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const serverOptions = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c max_connections=60', '-c wal_level=replica', '-c hot_standby_feedback=on'].join(' ');
  const start = async () => {
    await run('pg_ctl', ['-D', data, '-l', logFile, '-o', serverOptions, '-w', '-t', '30', 'start'], 40_000);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop'], 40_000);
  };

  if (options.standbyOf) {
    const from = ['-h', '127.0.0.1', '-p', String(options.standbyOf.port), '-U', superuser];
    await run('pg_basebackup', [...from, '-D', data, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync'], 120_000);
  } else {
    await run('initdb', ['-D', data, '-U', superuser, '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'], 60_000);
  }
  const forget = whenExiting(() => {
    const [command, ...rest] = [...owner.runAs, tool('pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    spawnSync(command!, rest, { cwd: dir, timeout: 10_000, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  await start();

  return {
    port,
    url: (database) => `postgres://${encodeURIComponent(superuser)}@127.0.0.1:${port}/${database}`,
    stop,
    start,
    async restart(mode = 'fast') {
      await stop(mode);
      await start();
    },
    log: readLog,
    async remove() {
      await stop('immediate').catch(() => undefined); // already stopped is fine
      forget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
