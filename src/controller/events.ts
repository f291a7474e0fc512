// Progress events a Controller emits ('progress'), for the demo, the bench and tests:
// plain data, one per step transition and one per finished cycle.
import type { Step } from '../plan/steps.ts';
import type { SwarmClusterStatus } from '../spec/schema.ts';

export type ProgressEvent =
  | {
      readonly type: 'step';
      readonly cluster: string;
      readonly cycle: string;
      readonly status: 'started' | 'done' | 'failed' | 'skipped';
      readonly step: Step;
      /** The -ing description ("Launching 1 manager"). */
      readonly message: string;
      readonly result?: string;
      readonly error?: string;
    }
  | {
      readonly type: 'cycle';
      readonly cluster: string;
      readonly cycle: string;
      readonly phase: NonNullable<SwarmClusterStatus['phase']>;
      readonly planned: number;
      readonly executed: number;
      readonly status: SwarmClusterStatus;
      readonly error?: string;
    }
  | { readonly type: 'leadership'; readonly leader: boolean; readonly identity: string };
