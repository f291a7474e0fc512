// Re-creating a backup's swarm state (swarm.json, src/backup/swarm-state.ts) on the fresh
// swarm a recovery founded: networks and configs first, then the services, whose specs
// name networks, configs and secrets by the OLD swarm's ids: each is mapped to the new
// object of the same name. Everything is matched by name, so a repeat re-creates only
// what is missing.
//
// Secrets: a backup holds their names only (the Engine API never returns a value). A
// service is re-created when every secret it names exists on the new swarm (the operator
// created it again); otherwise it is left out and reported with the secrets it waits for.
import type Docker from 'dockerode';
import { wrapError } from '../errors.ts';
import type { SwarmExport } from './swarm-state.ts';

/** What exists on the new swarm, by name -> id. */
export interface SwarmObjects {
  readonly networks: ReadonlyMap<string, string>;
  readonly configs: ReadonlyMap<string, string>;
  readonly secrets: ReadonlyMap<string, string>;
  readonly services: ReadonlySet<string>;
}

export interface SwarmRestoreResult {
  readonly networks: readonly string[];
  readonly configs: readonly string[];
  readonly services: readonly string[];
  /** Already on the new swarm (a repeat): left as they are. */
  readonly existing: readonly string[];
  /** Services left out because a secret they name is not on the new swarm. */
  readonly waitingForSecrets: readonly { readonly service: string; readonly secrets: readonly string[] }[];
  /** Every secret name the backup lists: the operator provides their values again. */
  readonly secretNames: readonly string[];
}

type Spec = Record<string, unknown>;

/**
 * A service spec with the old swarm's network, config and secret ids replaced by the new
 * ones (by name). Returns the secret names that have no counterpart (the service must wait).
 */
export function remapServiceSpec(spec: Spec, old: SwarmExport, now: SwarmObjects): { spec: Spec; missingSecrets: string[] } {
  const networkName = new Map(old.networks.map((n) => [n.Id, n.Name]));
  const configName = new Map(old.configs.map((c) => [c.ID, String(c.Spec.Name ?? '')]));
  const secretName = new Map(old.secrets.map((s) => [s.ID, s.Name]));
  const missingSecrets: string[] = [];
  const out = structuredClone(spec);
  const task = (out.TaskTemplate ?? {}) as Spec;
  const container = (task.ContainerSpec ?? {}) as Spec;
  const remapNetworks = (list: unknown): unknown =>
    Array.isArray(list)
      ? (list as Spec[]).map((n) => {
          const name = networkName.get(String(n.Target)) ?? String(n.Target);
          return { ...n, Target: now.networks.get(name) ?? name };
        })
      : list;
  if (task.Networks) task.Networks = remapNetworks(task.Networks);
  if (out.Networks) out.Networks = remapNetworks(out.Networks);
  if (Array.isArray(container.Configs)) {
    container.Configs = (container.Configs as Spec[]).map((c) => {
      const name = String(c.ConfigName ?? configName.get(String(c.ConfigID)) ?? '');
      return { ...c, ConfigName: name, ConfigID: now.configs.get(name) ?? c.ConfigID };
    });
  }
  if (Array.isArray(container.Secrets)) {
    container.Secrets = (container.Secrets as Spec[]).map((s) => {
      const name = String(s.SecretName ?? secretName.get(String(s.SecretID)) ?? '');
      const id = now.secrets.get(name);
      if (id === undefined) missingSecrets.push(name);
      return { ...s, SecretName: name, SecretID: id ?? s.SecretID };
    });
  }
  return { spec: out, missingSecrets };
}

/** Re-creates what the export holds and the new swarm lacks, through a manager of the new swarm. */
export async function restoreSwarmState(manager: Docker, old: SwarmExport): Promise<SwarmRestoreResult> {
  const created = { networks: [] as string[], configs: [] as string[], services: [] as string[] };
  const existing: string[] = [];
  const waitingForSecrets: { service: string; secrets: string[] }[] = [];
  let now = await readObjects(manager);
  for (const n of old.networks) {
    if (now.networks.has(n.Name)) {
      existing.push(`network/${n.Name}`);
      continue;
    }
    await step(`re-creating network ${n.Name}`, () =>
      manager.createNetwork({
        Name: n.Name,
        Driver: n.Driver ?? 'overlay',
        CheckDuplicate: true,
        Labels: n.Labels ?? {},
        Options: n.Options ?? {},
        Attachable: n.Attachable ?? false,
        Internal: n.Internal ?? false,
        ...(n.IPAM ? { IPAM: n.IPAM } : {}),
      } as Docker.NetworkCreateOptions),
    );
    created.networks.push(n.Name);
  }
  for (const c of old.configs) {
    const name = String(c.Spec.Name ?? '');
    if (now.configs.has(name)) {
      existing.push(`config/${name}`);
      continue;
    }
    await step(`re-creating config ${name}`, () => manager.createConfig(c.Spec));
    created.configs.push(name);
  }
  now = await readObjects(manager);
  for (const s of old.services) {
    const spec = (s.Spec ?? {}) as Spec;
    const name = String(spec.Name ?? '');
    if (now.services.has(name)) {
      existing.push(`service/${name}`);
      continue;
    }
    const mapped = remapServiceSpec(spec, old, now);
    if (mapped.missingSecrets.length > 0) {
      waitingForSecrets.push({ service: name, secrets: mapped.missingSecrets });
      continue;
    }
    await step(`re-creating service ${name}`, () => manager.createService(mapped.spec as Docker.CreateServiceOptions));
    created.services.push(name);
  }
  return { ...created, existing, waitingForSecrets, secretNames: old.secrets.map((x) => x.Name) };
}

async function readObjects(manager: Docker): Promise<SwarmObjects> {
  return step('listing the new swarm', async () => {
    const [networks, configs, secrets, services] = await Promise.all([
      manager.listNetworks({ filters: { scope: ['swarm'] } }) as Promise<{ Id: string; Name: string }[]>,
      manager.listConfigs() as unknown as Promise<{ ID: string; Spec: { Name: string } }[]>,
      manager.listSecrets() as unknown as Promise<{ ID: string; Spec: { Name: string } }[]>,
      manager.listServices() as unknown as Promise<{ Spec?: { Name?: string } }[]>,
    ]);
    return {
      networks: new Map(networks.map((n) => [n.Name, n.Id])),
      configs: new Map(configs.map((c) => [c.Spec.Name, c.ID])),
      secrets: new Map(secrets.map((x) => [x.Spec.Name, x.ID])),
      services: new Set(services.flatMap((x) => (x.Spec?.Name ? [x.Spec.Name] : []))),
    };
  });
}

async function step<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrapError(context, err);
  }
}
