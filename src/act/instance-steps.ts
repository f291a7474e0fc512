// Provider steps and the endpoints record. A launch carries the planner's deterministic
// client token, so the provider returns the first call's instances on a repeat (rule
// 13): this is what lets a new controller re-run an interrupted launch safely.
import { clusterKeys } from '../store/keys.ts';
import { encodeEndpoints, endpointsOf, parseEndpoints, sameEndpoints } from '../protocol/cluster-endpoints.ts';
import { urlHost, type Instance } from '../model/snapshot.ts';
import type { Step } from '../plan/steps.ts';
import { wrapError } from '../errors.ts';
import type { ActDeps } from './context.ts';
import { releaseCluster } from './release.ts';

type InstanceStep = Extract<
  Step,
  { kind: 'instance.launch' | 'instance.terminate' | 'instance.markOrphan' | 'cluster.publishEndpoints' | 'cluster.release' }
>;

/** A step's outcome for the journal; a launch also names the instances it produced. */
export interface StepResult {
  readonly result: string;
  readonly instanceIds?: readonly string[];
  /** The instances a launch produced (the cycle's view adds them to its list). */
  readonly instances?: readonly Instance[];
}

export async function runInstanceStep(step: InstanceStep, deps: ActDeps): Promise<string | StepResult> {
  switch (step.kind) {
    case 'instance.launch': {
      const agent = await deps.agentConfig(deps.spec, step.role, step.clientToken, step.count);
      const launched = await deps.provider.launch({
        spec: deps.spec,
        role: step.role,
        count: step.count,
        clientToken: step.clientToken,
        configHash: step.configHash,
        ...(step.zone === undefined ? {} : { zone: step.zone }),
        agent,
      });
      const ids = launched.map((i) => i.id);
      return { result: `launched ${ids.join(', ') || 'nothing'}`, instanceIds: ids, instances: launched };
    }
    case 'instance.terminate':
      await deps.provider.terminate(deps.cluster, step.instanceId);
      return `terminated ${step.instanceId}`;
    case 'instance.markOrphan': {
      if (!deps.marks) return 'no mark store: orphan not recorded';
      await deps.marks.putMark(deps.cluster, {
        instanceId: step.instanceId,
        source: 'detector:startup',
        reason: step.reason,
        since: deps.now(),
      });
      return `marked ${step.instanceId} as never joined`;
    }
    case 'cluster.publishEndpoints':
      return publishEndpoints(step.clientURLs, deps);
    case 'cluster.release':
      return (deps.release ?? releaseCluster)(deps);
  }
}

/** Writes keys.endpoints for the managers behind `clientURLs`, unless it says so already. */
async function publishEndpoints(clientURLs: readonly string[], deps: ActDeps): Promise<string> {
  const key = clusterKeys(deps.prefix, deps.cluster).endpoints;
  const next = endpointsOf(clientURLs.map(urlHost), new Date(deps.now()).toISOString());
  let current: string | undefined;
  try {
    current = await deps.mgmt.get(key);
  } catch (err) {
    throw wrapError('reading the published endpoints', err);
  }
  if (current !== undefined) {
    try {
      if (sameEndpoints(parseEndpoints(current, key), next)) return 'endpoints unchanged';
    } catch {
      // An unreadable record is replaced below.
    }
  }
  await deps.mgmt.write([{ kind: 'put', key, value: encodeEndpoints(next) }], deps.fence, 'publishing the cluster endpoints');
  return `published ${next.etcdClientURLs.length} endpoints`;
}
