// A secret of the management etcd that is created once and then only read: the first
// writer wins (create-if-absent in one transaction) and every later reader, on any
// controller, gets the same value. Secrets live under keys.secrets; the value is never
// logged or quoted in an error. Callers wrap its errors with what they were doing.
import type { Etcd3 } from 'etcd3';
import { SwarmkeeperError } from '../errors.ts';
import { clusterKeys } from './keys.ts';

export interface CreateOnceSecret {
  /** The stored value; when there is none yet, `create()`'s, stored first. */
  getOrCreate(create: () => Promise<string>): Promise<string>;
  /** The stored value, or undefined when none was created; never creates one. */
  read(): Promise<string | undefined>;
  /** Whether a value was created, without reading it. */
  exists(): Promise<boolean>;
}

/** Name of the cluster's docker CA record under keys.secrets. */
export const DOCKER_CA_SECRET = 'docker-ca';

export function etcdCreateOnceSecret(client: Etcd3, prefix: string, cluster: string, name: string): CreateOnceSecret {
  const key = `${clusterKeys(prefix, cluster).secrets}${name}`;
  return {
    async getOrCreate(create) {
      let text = await client.get(key).string();
      if (text === null) {
        const value = await create();
        await client.if(key, 'Create', '==', 0).then(client.put(key).value(value)).commit();
        text = await client.get(key).string();
      }
      if (text === null) throw new SwarmkeeperError('Internal', `secret ${name} of cluster ${cluster} vanished right after it was created`);
      return text;
    },
    async read() {
      return (await client.get(key).string()) ?? undefined;
    },
    exists() {
      return client.get(key).exists();
    },
  };
}

/** Each cluster's docker CA record (keys.secrets `docker-ca`) in the management etcd. */
export function etcdDockerCaSecrets(client: Etcd3, prefix: string): (cluster: string) => CreateOnceSecret {
  return (cluster) => etcdCreateOnceSecret(client, prefix, cluster, DOCKER_CA_SECRET);
}
