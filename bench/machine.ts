import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';
import { withDefaultUser } from '../src/db/database.js';

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  postgres: string;
  redis: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAtStart: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(databaseUrl: string, redisUrl: string, loadAtStart: number): Promise<Machine> {
  const db = new pg.Client({ connectionString: withDefaultUser(databaseUrl) });
  const redis = new Redis(redisUrl);
  try {
    await db.connect();
    const postgres = (await db.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return { cpu: cpuModel(), cores: availableParallelism(), node: process.version, postgres, redis: version, loadAtStart };
  } finally {
    await db.end();
    redis.disconnect();
  }
}
