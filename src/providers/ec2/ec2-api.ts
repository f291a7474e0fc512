// The narrow EC2 surface the provider uses, and nothing more: RunInstances,
// DescribeInstances (paginated), TerminateInstances, DescribeInstanceStatus. Keeping it
// this small lets tests count calls, inject the faults moto cannot produce, and keeps
// the SDK's types out of the rest of the provider.
//
// Client settings (createEc2Api): the standard AWS credential chain and region
// resolution (env, shared config, SSO, IMDS) unless overridden; adaptive retry, which
// backs off client-side on RequestLimitExceeded instead of hammering a throttled
// bucket; an endpoint override for EC2-compatible APIs (moto in tests).
import {
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  paginateDescribeInstanceStatus,
  type DescribeInstancesCommandInput,
  type DescribeInstanceStatusCommandInput,
  type InstanceStatus,
  type Reservation,
  type RunInstancesCommandInput,
  type RunInstancesCommandOutput,
  type TerminateInstancesCommandOutput,
} from '@aws-sdk/client-ec2';

export interface Ec2Api {
  runInstances(input: RunInstancesCommandInput): Promise<RunInstancesCommandOutput>;
  /** Every page of DescribeInstances, `pageSize` items per page (EC2 allows 5..1000). */
  describeInstancesPages(
    input: Omit<DescribeInstancesCommandInput, 'MaxResults' | 'NextToken'>,
    pageSize: number,
  ): AsyncIterable<readonly Reservation[]>;
  terminateInstances(instanceIds: readonly string[]): Promise<TerminateInstancesCommandOutput>;
  /** Status checks of the given instances (EC2 takes at most 100 ids per call). */
  describeInstanceStatus(
    input: Omit<DescribeInstanceStatusCommandInput, 'MaxResults' | 'NextToken'>,
  ): AsyncIterable<readonly InstanceStatus[]>;
  close(): void;
}

export interface Ec2ClientOptions {
  readonly region?: string;
  /** EC2-compatible endpoint; else SWARMKEEPER_EC2_ENDPOINT; else the SDK's own resolution. */
  readonly endpoint?: string;
  /** Total attempts per call including the first (adaptive retry). */
  readonly maxAttempts?: number;
  /** Sees every command before it is sent (tests count calls with it). */
  readonly onCommand?: (commandName: string) => void;
}

export const ENDPOINT_ENV = 'SWARMKEEPER_EC2_ENDPOINT';

export function createEc2Client(opts: Ec2ClientOptions): EC2Client {
  const endpoint = opts.endpoint ?? process.env[ENDPOINT_ENV];
  const client = new EC2Client({
    ...(opts.region ? { region: opts.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: opts.maxAttempts ?? 5,
  });
  const onCommand = opts.onCommand;
  if (onCommand) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        onCommand(String(context.commandName ?? 'unknown'));
        return next(args);
      },
      { step: 'initialize', name: 'swarmkeeperCountCommands' },
    );
  }
  return client;
}

/** The Ec2Api over a real SDK client. */
export function sdkEc2Api(client: EC2Client): Ec2Api {
  return {
    runInstances: (input) => client.send(new RunInstancesCommand(input)),
    async *describeInstancesPages(input, pageSize) {
      for await (const page of paginateDescribeInstances({ client, pageSize }, { ...input })) {
        yield page.Reservations ?? [];
      }
    },
    terminateInstances: (ids) => client.send(new TerminateInstancesCommand({ InstanceIds: [...ids] })),
    async *describeInstanceStatus(input) {
      // MaxResults may not be combined with InstanceIds: one unpaginated call per batch of ids.
      for await (const page of paginateDescribeInstanceStatus({ client }, { ...input })) {
        yield page.InstanceStatuses ?? [];
      }
    },
    close: () => client.destroy(),
  };
}
