// The swarm's own state, exported from the Docker API of a manager: services, networks
// (user-defined only: ingress and the node-local ones are the swarm's), configs with
// their data (configs are not secret), and secrets by NAME and labels only (the API
// never returns a secret's value, and swarmkeeper never asks for one).
import type Docker from 'dockerode';
import { wrapError } from '../errors.ts';

export interface SwarmExport {
  readonly exportedAt: string;
  readonly services: readonly Record<string, unknown>[];
  readonly networks: readonly {
    readonly Id: string;
    readonly Name: string;
    readonly Driver?: string;
    readonly Labels?: Record<string, string>;
    readonly Options?: Record<string, string>;
    readonly Attachable?: boolean;
    readonly Internal?: boolean;
    readonly IPAM?: unknown;
  }[];
  readonly configs: readonly { readonly ID: string; readonly Spec: Record<string, unknown> }[];
  /** Names and labels only. */
  readonly secrets: readonly { readonly ID: string; readonly Name: string; readonly Labels?: Record<string, string> }[];
}

const SYSTEM_NETWORKS = new Set(['ingress', 'bridge', 'host', 'none', 'docker_gwbridge']);

export async function exportSwarmState(manager: Docker, now: number): Promise<SwarmExport> {
  try {
    const [services, networks, configs, secrets] = await Promise.all([
      manager.listServices() as unknown as Promise<{ ID: string; Spec: Record<string, unknown> }[]>,
      manager.listNetworks({ filters: { scope: ['swarm'] } }) as unknown as Promise<
        {
          Id: string;
          Name: string;
          Driver?: string;
          Labels?: Record<string, string>;
          Options?: Record<string, string>;
          Attachable?: boolean;
          Internal?: boolean;
          IPAM?: unknown;
          Ingress?: boolean;
        }[]
      >,
      manager.listConfigs() as unknown as Promise<{ ID: string; Spec: Record<string, unknown> }[]>,
      manager.listSecrets() as unknown as Promise<{ ID: string; Spec: { Name: string; Labels?: Record<string, string> } }[]>,
    ]);
    return {
      exportedAt: new Date(now).toISOString(),
      services: services.map((s) => ({ ID: s.ID, Spec: s.Spec })),
      networks: networks
        .filter((n) => !n.Ingress && !SYSTEM_NETWORKS.has(n.Name))
        .map((n) => ({
          Id: n.Id,
          Name: n.Name,
          Driver: n.Driver,
          Labels: n.Labels,
          Options: n.Options,
          Attachable: n.Attachable,
          Internal: n.Internal,
          IPAM: n.IPAM,
        })),
      configs: configs.map((c) => ({ ID: c.ID, Spec: c.Spec })),
      secrets: secrets.map((s) => ({ ID: s.ID, Name: s.Spec.Name, ...(s.Spec.Labels ? { Labels: s.Spec.Labels } : {}) })),
    };
  } catch (err) {
    throw wrapError("exporting the swarm's services, networks, configs and secret names", err);
  }
}
