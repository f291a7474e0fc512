// Where an EC2 node reads its cluster's published endpoints (keys.endpoints) without any
// access to the management etcd: GET /v1/bootstrap/endpoints at the controller, with the
// node credential its bootstrap answer carried (bound to this cluster and instance, good
// for nothing else). No watch over HTTP: polled, so an etcd gateway follows a change of
// the manager set within one interval.
import { SwarmkeeperError } from '../errors.ts';
import { ENDPOINTS_PATH } from '../protocol/bootstrap-exchange.ts';
import { parseEndpoints, type ClusterEndpoints } from '../protocol/cluster-endpoints.ts';
import type { ManagementKv } from '../store/management-kv.ts';

export type EndpointsSource = Pick<ManagementKv, 'readEndpoints' | 'watchEndpoints' | 'close'>;

export interface ControllerEndpointsOptions {
  readonly bootstrapUrl: string;
  readonly cluster: string;
  readonly instanceId: string;
  readonly credential: string;
  /** Poll interval of watchEndpoints (default 5 s). */
  readonly pollMs?: number;
  readonly fetchImpl?: typeof fetch;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class ControllerEndpoints implements EndpointsSource {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: ControllerEndpointsOptions) {}

  async readEndpoints(): Promise<ClusterEndpoints | undefined> {
    const url = new URL(ENDPOINTS_PATH, this.o.bootstrapUrl);
    url.searchParams.set('cluster', this.o.cluster);
    url.searchParams.set('instanceId', this.o.instanceId);
    let res: Response;
    try {
      res = await (this.o.fetchImpl ?? fetch)(url, {
        headers: { authorization: `Bearer ${this.o.credential}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new SwarmkeeperError('Unavailable', `reading the cluster endpoints from the controller: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new SwarmkeeperError(
        res.status === 401 ? 'Unauthorized' : 'Unavailable',
        `reading the cluster endpoints from the controller: HTTP ${res.status}`,
      );
    }
    return parseEndpoints(await res.text(), "the controller's endpoints answer");
  }

  /** Calls onChange when what the controller answers changes (not when it cannot be asked). */
  async watchEndpoints(onChange: () => void): Promise<() => Promise<void>> {
    let last = JSON.stringify((await this.readEndpoints()) ?? null);
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.readEndpoints()
        .then((e) => {
          const now = JSON.stringify(e ?? null);
          if (now !== last) {
            last = now;
            onChange();
          }
        })
        .catch(() => undefined)
        .finally(() => {
          busy = false;
        });
    }, this.o.pollMs ?? 5_000);
    timer.unref();
    this.timers.add(timer);
    return async () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }
}
