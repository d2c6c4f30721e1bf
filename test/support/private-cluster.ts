import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

const run = promisify(execFile);

/**
 * What a cluster node runs with. The node timeout is long enough that a loaded test machine never
 * fails a master over by itself: a test that wants a failover makes it (failOver below).
 */
const clusterSettings = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'];

export interface ClusterNode {
  server: PrivateRedis;
  port: number;
  address: string;
}

export interface PrivateCluster {
  nodes: ClusterNode[];
  /** REDIS_CLUSTER_NODES for the engine: every node's address. */
  env: { REDIS_CLUSTER_NODES: string };
  /** The node that is master of `key`'s slot now, and its replica. */
  masterOf(key: string): Promise<{ master: ClusterNode; replica: ClusterNode }>;
  /**
   * SIGKILLs the master of `key`'s slot and promotes its replica (CLUSTER FAILOVER TAKEOVER), then waits
   * until every live node sees the cluster whole again. Returns the killed node and the new master.
   */
  failOver(key: string): Promise<{ killed: ClusterNode; promoted: ClusterNode }>;
  /** Starts a killed node again: it rejoins as a replica of the master that replaced it. */
  restart(node: ClusterNode): Promise<void>;
  /** Kills every node and removes their directories. */
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of the test's own: three masters and three replicas (`redis-server --cluster-enabled
 * yes` on free loopback ports, `redis-cli --cluster create ... --cluster-replicas 1`), ready once every
 * node says `cluster_state:ok` and every master has its replica in sync. Nodes are SIGKILLed at the
 * test process's exit even when the test fails before `stop()`.
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.server.remove()));
  };
  try {
    for (const server of await Promise.all(Array.from({ length: 6 }, () => startPrivateRedis(clusterSettings)))) {
      nodes.push({ server, port: server.port, address: `127.0.0.1:${server.port}` });
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    await untilWhole(nodes);
  } catch (error) {
    await stop();
    throw error;
  }

  const byId = async () => {
    const live = nodes.find((n) => n.server.running())!;
    const table = await onNode(live, (r) => r.cluster('NODES') as Promise<string>);
    return table
      .trim()
      .split('\n')
      .map((line) => {
        const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
        const port = Number(addr!.split('@')[0]!.split(':')[1]);
        return { id: id!, node: nodes.find((n) => n.port === port)!, master: flags!.includes('master') && !flags!.includes('fail'), masterId: masterId!, slots };
      });
  };
  const masterOf = async (key: string) => {
    const slot = await onNode(nodes.find((n) => n.server.running())!, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
    const table = await byId();
    const master = table.find((row) => row.master && row.slots.some((range) => covers(range, slot)));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    const replica = table.find((row) => row.masterId === master.id && row.node.server.running());
    if (!replica) throw new Error(`the master of slot ${slot} has no live replica`);
    return { master: master.node, replica: replica.node };
  };

  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: nodes.map((n) => n.address).join(',') },
    masterOf,
    async failOver(key) {
      const { master, replica } = await masterOf(key);
      await master.server.kill();
      await onNode(replica, (r) => r.cluster('FAILOVER', 'TAKEOVER'));
      await untilWhole(nodes.filter((n) => n.server.running()), { replicas: false });
      return { killed: master, promoted: replica };
    },
    async restart(node) {
      await node.server.start();
      await untilWhole(nodes);
    },
    stop,
  };
}

/** Whether `range` (`5461-10922` or `42`, as CLUSTER NODES lists them) holds `slot`. */
function covers(range: string, slot: number): boolean {
  if (range.startsWith('[')) return false; // a slot being migrated
  const [from, to = from] = range.split('-').map(Number);
  return slot >= from! && slot <= to!;
}

async function onNode<T>(node: ClusterNode, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port: node.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Polls (bounded) until every node says cluster_state:ok and, unless told not to, every master has a replica in sync. */
async function untilWhole(nodes: ClusterNode[], opts: { replicas?: boolean } = {}): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    try {
      const states = await Promise.all(
        nodes.map((n) =>
          onNode(n, async (r) => {
            const info = String(await r.cluster('INFO'));
            const replication = String(await r.info('replication'));
            const master = /role:master/.test(replication);
            const ok = /cluster_state:ok/.test(info);
            const synced = master ? /connected_slaves:[1-9]/.test(replication) && /slave0:.*state=online/.test(replication) : /master_link_status:up/.test(replication);
            return { ok, synced, master, port: n.port };
          }),
        ),
      );
      last = JSON.stringify(states);
      const masters = states.filter((s) => s.master).length;
      if (states.every((s) => s.ok) && masters === 3 && (opts.replicas === false || states.every((s) => s.synced))) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`the private cluster did not become whole: ${last}\n${nodes.map((n) => n.server.output.join('')).join('\n').slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
