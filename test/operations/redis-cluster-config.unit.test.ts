import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('REDIS_CLUSTER_NODES and the replica WAIT settings', () => {
  it('a cluster puts BullMQ under a hash tag of the prefix and waits for one replica by default', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.5:7000, redis-b.internal:7001,[::1]:7002', TOKENS_QUEUE_PREFIX: 'acme' });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.5', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config).toMatchObject({ queuePrefix: '{acme}', keyPrefix: 'acme', redisWaitReplicas: 1, redisWaitTimeoutMs: 500 });
  });

  it('one Redis keeps the prefix as it is and waits for no replica unless told to', () => {
    expect(loadConfig({})).toMatchObject({ redisClusterNodes: undefined, queuePrefix: 'tokens', keyPrefix: 'tokens', redisWaitReplicas: 0 });
    expect(loadConfig({ TOKENS_REDIS_WAIT_REPLICAS: '2', TOKENS_REDIS_WAIT_TIMEOUT_MS: '250' })).toMatchObject({ redisWaitReplicas: 2, redisWaitTimeoutMs: 250 });
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', TOKENS_REDIS_WAIT_REPLICAS: '0' }).redisWaitReplicas).toBe(0);
  });

  it('a node that is not host:port is refused at start, naming the variable', () => {
    for (const nodes of ['127.0.0.1', 'redis://127.0.0.1:7000', '127.0.0.1:0', '127.0.0.1:99999']) {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: nodes })).toThrow(ConfigError);
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: nodes })).toThrow(/REDIS_CLUSTER_NODES/);
    }
  });
});
