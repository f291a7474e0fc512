// From alerts to mark changes (design rule 11: alerts are evidence, not commands).
// Pure: the caller looks the clusters up first, passes `now`, and writes the result.
//
// Contract, which the webhook relies on to "change nothing" on bad input: the whole
// batch is judged before anything is written; one alert that cannot be placed rejects
// the batch with a status code and a message naming the alert, and nothing is written.
// The one exception is a resolved alert for a node that no longer exists (it was
// replaced, which is usually why the alert resolved): its mark, if any, is cleared by
// the instance_id label, or else the alert is ignored, rather than making Alertmanager
// log a failure for the whole group.
import { INSTANCE_ID, type HealthMark, type Instance, type SwarmNode } from '../model/snapshot.ts';

export interface IncomingAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
}

/** What the webhook needs to know about a cluster's nodes to place an alert. */
export interface ClusterNodes {
  readonly instances: readonly Instance[];
  readonly swarmNodes: readonly SwarmNode[];
}

/** Looks a cluster up; undefined when there is no such cluster. */
export interface NodeDirectory {
  lookup(cluster: string): Promise<ClusterNodes | undefined>;
}

/** What an instance id may look like (ids become etcd key segments). */

export const CLUSTER_LABELS = ['swarmkeeper_cluster', 'cluster'] as const;
/** Node labels, most specific first; the first one present decides. */
export const NODE_LABELS = ['instance_id', 'swarm_node_id', 'hostname', 'address', 'instance'] as const;

export interface MarkChange {
  readonly cluster: string;
  readonly action: 'mark' | 'clear';
  readonly instanceId: string;
  /** Set for `mark`. */
  readonly mark?: HealthMark;
}

export type IntakeResult =
  | { readonly ok: true; readonly changes: readonly MarkChange[]; readonly ignored: number }
  | { readonly ok: false; readonly status: 404 | 422; readonly message: string };

/** Cluster names the alerts refer to (to look up before judging). */
export function clustersOfAlerts(alerts: readonly IncomingAlert[]): string[] {
  const names = new Set<string>();
  for (const a of alerts) {
    const c = clusterLabelOf(a);
    if (c !== undefined) names.add(c);
  }
  return [...names].sort();
}

export function judgeAlerts(
  alerts: readonly IncomingAlert[],
  clusters: ReadonlyMap<string, ClusterNodes | undefined>,
  opts: { readonly now: number; readonly markTtlSeconds: number },
): IntakeResult {
  const changes: MarkChange[] = [];
  let ignored = 0;
  for (const [i, alert] of alerts.entries()) {
    const where = `alerts[${i}]${alertName(alert) ? ` (${alertName(alert)})` : ''}`;
    const cluster = clusterLabelOf(alert);
    if (cluster === undefined)
      return { ok: false, status: 422, message: `${where}: no ${CLUSTER_LABELS.join(' or ')} label names the cluster` };
    const nodes = clusters.get(cluster);
    if (!nodes) return { ok: false, status: 404, message: `${where}: cluster ${JSON.stringify(cluster)} does not exist` };
    const label = NODE_LABELS.find((l) => nonEmpty(alert.labels[l]));
    if (!label) return { ok: false, status: 422, message: `${where}: no node label (${NODE_LABELS.join(', ')})` };
    const value = alert.labels[label] as string;
    const instanceId = resolveInstance(nodes, label, value);
    if (!instanceId) {
      if (alert.status === 'resolved') {
        // The node is gone (replaced, usually why the alert resolved). An instance_id
        // label still names its mark, which is cleared rather than left to expire;
        // deleting a mark that is not there writes nothing.
        if (label === 'instance_id' && INSTANCE_ID.test(value)) changes.push({ cluster, action: 'clear', instanceId: value });
        else ignored++;
        continue;
      }
      return {
        ok: false,
        status: 404,
        message: `${where}: no node of cluster ${cluster} has ${label}=${JSON.stringify(value.slice(0, 128))}`,
      };
    }
    if (alert.status === 'resolved') {
      changes.push({ cluster, action: 'clear', instanceId });
      continue;
    }
    // The hold-down runs on the controller's clock, from its first sight of the
    // evidence: the sender's startsAt is not believed (one from 1970 would make a node
    // replaceable at once). The mark store keeps the earliest since of repeats, so the
    // first sight holds across replays and restarts.
    const since = opts.now;
    const summary = alert.annotations?.summary ?? alert.annotations?.description ?? '';
    const reason = truncate(`Alert ${alertName(alert) ?? 'unnamed'} firing${summary ? `: ${summary}` : ''}`, 256);
    changes.push({
      cluster,
      action: 'mark',
      instanceId,
      mark: { instanceId, source: 'alert', reason, since, expiresAt: opts.now + opts.markTtlSeconds * 1000 },
    });
  }
  return { ok: true, changes, ignored };
}

function resolveInstance(nodes: ClusterNodes, label: (typeof NODE_LABELS)[number], value: string): string | undefined {
  const live = nodes.instances.filter((i) => i.state !== 'terminated');
  switch (label) {
    case 'instance_id':
      return live.find((i) => i.id === value)?.id;
    case 'swarm_node_id': {
      const id = nodes.swarmNodes.find((n) => n.id === value)?.instanceId;
      return live.find((i) => i.id === id)?.id;
    }
    case 'hostname': {
      const host = value.toLowerCase();
      const short = host.split('.')[0] ?? host;
      return live.find((i) => hostnamesOf(i).includes(host))?.id ?? live.find((i) => hostnamesOf(i).includes(short))?.id;
    }
    case 'address':
    case 'instance': {
      const host = hostOf(value);
      const byInstance = live.find((i) => i.address === host)?.id;
      if (byInstance) return byInstance;
      const id = nodes.swarmNodes.find((n) => n.address === host)?.instanceId;
      return live.find((i) => i.id === id)?.id;
    }
  }
}

/** Names a node may go by: tags an operator or provider set, and EC2's ip-a-b-c-d form. */
function hostnamesOf(i: Instance): string[] {
  const names = [i.tags.hostname, i.tags.Name, i.tags['swarmkeeper.dev/hostname']].filter(nonEmpty).map((s) => s.toLowerCase());
  if (i.address && /^\d+\.\d+\.\d+\.\d+$/.test(i.address)) names.push(`ip-${i.address.replaceAll('.', '-')}`);
  return names.flatMap((n) => [n, n.split('.')[0] ?? n]);
}

/** The host of `10.0.0.5:9100`, `[fd00::1]:9100`, `fd00::1` or `10.0.0.5`. */
export function hostOf(value: string): string {
  const v = value.trim();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracket?.[1]) return bracket[1];
  if ((v.match(/:/g) ?? []).length === 1) return v.slice(0, v.indexOf(':'));
  return v;
}

function clusterLabelOf(alert: IncomingAlert): string | undefined {
  for (const l of CLUSTER_LABELS) if (nonEmpty(alert.labels[l])) return alert.labels[l];
  return undefined;
}

function alertName(alert: IncomingAlert): string | undefined {
  return alert.labels.alertname;
}

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
