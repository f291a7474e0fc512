import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../errors.ts';
import type { CreateOnceSecret } from '../store/create-once-secret.ts';
import { clusterDockerTls, controllerUsesDockerTls } from './cluster-docker-tls.ts';

/** The management etcd's secrets of one controller's view, in memory (the etcd side is tested in ec2-docker-tls). */
function secrets(): { secretOf: (cluster: string) => CreateOnceSecret; stored: Map<string, string> } {
  const stored = new Map<string, string>();
  return {
    stored,
    secretOf: (cluster) => ({
      async getOrCreate(create) {
        if (!stored.has(cluster)) stored.set(cluster, await create());
        return stored.get(cluster) as string;
      },
      read: async () => stored.get(cluster),
      exists: async () => stored.has(cluster),
    }),
  };
}

describe('clusterDockerTls', () => {
  it('a controller on the docker socket gives no docker TLS to a cluster without a CA record, and creates none', async () => {
    const s = secrets();
    const onSocket = clusterDockerTls({ secretOf: s.secretOf, controllerUsesTls: false });
    expect(await onSocket.usesDockerTls('prod')).toBe(false);
    expect(await onSocket.caOf('prod')).toBeUndefined();
    expect(s.stored.size).toBe(0);
  });

  it('a TLS controller creates the record at first use; a controller on the socket then signs with the same CA', async () => {
    const s = secrets();
    const outside = clusterDockerTls({ secretOf: s.secretOf, controllerUsesTls: true });
    expect(await outside.usesDockerTls('prod')).toBe(true);
    expect(s.stored.has('prod')).toBe(true);
    const onSocket = clusterDockerTls({ secretOf: s.secretOf, controllerUsesTls: false });
    expect(await onSocket.usesDockerTls('prod')).toBe(true);
    const ca = await onSocket.caOf('prod');
    expect(ca?.caPem).toBe((await outside.caOf('prod'))?.caPem);
    // Another cluster of the same management etcd is not affected.
    expect(await onSocket.usesDockerTls('staging')).toBe(false);
  }, 60_000);

  it('a corrupt CA record is refused as Corrupt without quoting it (it holds the CA key)', async () => {
    const s = secrets();
    const key = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-not-a-real-key';
    s.stored.set('prod', `{"key":"${key}", "cert": 12`);
    const onSocket = clusterDockerTls({ secretOf: s.secretOf, controllerUsesTls: false });
    const err: unknown = await onSocket.caOf('prod').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSwarmkeeperError(err, 'Corrupt')).toBe(true);
    const e = err as Error;
    expect(e.message).toContain('the docker CA record of cluster prod');
    for (const text of [e.message, String(e.cause), e.stack ?? '', JSON.stringify(e)]) expect(text).not.toContain(key.slice(0, 12));
  }, 60_000);
});

describe('controllerUsesDockerTls', () => {
  it('is SWARMKEEPER_DOCKER_TLS_CA being set, as dockerAccessFromEnv decides', () => {
    expect(controllerUsesDockerTls({})).toBe(false);
    expect(controllerUsesDockerTls({ SWARMKEEPER_DOCKER_TLS_CA: '/etc/docker-ca.pem' })).toBe(true);
  });
});
