// Steps and holds become Kubernetes Events on the SwarmCluster object (the cluster-api
// habit): `kubectl describe swarmcluster prod` and `kubectl get events` show what the
// controller did and why it waits. A hold is recorded when it appears, not every cycle.
// Recording never blocks the loop: a failed Event is logged and dropped.
import type { Controller } from '../controller/controller.ts';
import type { ProgressEvent } from '../controller/events.ts';
import type { Logger } from '../log.ts';
import type { InvolvedObject, KubeEvent, SwarmClusterApi } from './swarmcluster-api.ts';

export function attachKubeEvents(
  controller: Controller,
  api: Pick<SwarmClusterApi, 'recordEvent'>,
  involved: (cluster: string) => InvolvedObject,
  logger: Logger,
  now: () => number = Date.now,
): () => void {
  const holdsSeen = new Map<string, Set<string>>();
  const record = (cluster: string, e: KubeEvent): void => {
    void recordEventOrWarn(api, involved(cluster), e, new Date(now()), logger);
  };
  const listener = (e: ProgressEvent): void => {
    if (e.type === 'step' && e.status === 'started')
      record(e.cluster, { type: 'Normal', reason: 'Step', action: e.step.kind, message: `${e.message}: ${e.step.reason}` });
    else if (e.type === 'step' && e.status === 'failed')
      record(e.cluster, { type: 'Warning', reason: 'StepFailed', action: e.step.kind, message: `${e.message}: ${e.error ?? 'failed'}` });
    else if (e.type === 'cycle') recordNewHolds(e, holdsSeen, record);
  };
  controller.on('progress', listener);
  return () => controller.off('progress', listener);
}

function recordNewHolds(
  e: Extract<ProgressEvent, { type: 'cycle' }>,
  seen: Map<string, Set<string>>,
  record: (cluster: string, e: KubeEvent) => void,
): void {
  const before = seen.get(e.cluster) ?? new Set<string>();
  const now = new Set<string>();
  for (const h of e.status.holds ?? []) {
    const key = `${h.rule}/${h.reason}`;
    now.add(key);
    if (!before.has(key)) record(e.cluster, { type: 'Warning', reason: 'Held', action: h.rule, message: `${h.reason}: ${h.message}` });
  }
  seen.set(e.cluster, now);
}

/** Records an Event; a failure is logged and dropped: an Event never fails what it reports on. */
export function recordEventOrWarn(
  api: Pick<SwarmClusterApi, 'recordEvent'>,
  obj: InvolvedObject,
  e: KubeEvent,
  at: Date,
  logger: Logger,
): Promise<void> {
  return api.recordEvent(obj, e, at).catch((err: unknown) => logger.warn({ cluster: obj.name, err }, 'Recording an event failed'));
}
