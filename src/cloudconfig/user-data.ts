// The entry point the EC2 provider and the CLI use: node model in, checked user-data out.
import type { NodeAgentConfig } from '../protocol/agent-config.ts';
import type { Unit } from '../spec/schema.ts';
import { SwarmkeeperError } from '../errors.ts';
import { buildNodeFiles } from './node-model.ts';
import { renderCloudConfig } from './render-cloud-config.ts';
import { renderIgnition } from './render-ignition.ts';
import { checkUserDataSize, cloudConfigProblems, ignitionProblems, type UserDataSize } from './validate-user-data.ts';

export type UserDataFormat = 'cloud-config' | 'ignition';

export const USER_DATA_FORMATS: readonly UserDataFormat[] = ['cloud-config', 'ignition'];

export interface RenderedUserData {
  readonly format: UserDataFormat;
  readonly text: string;
  readonly size: UserDataSize;
}

export interface RenderUserDataInput {
  readonly agent: NodeAgentConfig;
  readonly units: readonly Unit[];
  readonly format?: UserDataFormat;
  /** Managers serve docker over mutual TLS on their private address (controller outside the cluster). */
  readonly dockerTls?: boolean;
}

/** Renders and validates; throws SpecInvalid when the result would not boot or is too big. */
export function renderUserData(input: RenderUserDataInput): RenderedUserData {
  const format = input.format ?? 'cloud-config';
  const files = buildNodeFiles({ agent: input.agent, units: input.units, ...(input.dockerTls ? { dockerTls: true } : {}) });
  const text = format === 'ignition' ? renderIgnition(files) : renderCloudConfig(files);
  const problems = format === 'ignition' ? ignitionProblems(text) : cloudConfigProblems(text);
  if (problems.length > 0) {
    // The renderer produced something invalid: our bug, or a unit the spec let through.
    throw new SwarmkeeperError('SpecInvalid', `rendered ${format} for a ${input.agent.role} is invalid: ${problems.join('; ')}`, {
      details: { field: `spec.${input.agent.role}s.units` },
    });
  }
  const size = checkUserDataSize(text, `the ${format} user-data of a ${input.agent.role}`);
  return { format, text, size };
}

export function parseUserDataFormat(value: string): UserDataFormat {
  if ((USER_DATA_FORMATS as readonly string[]).includes(value)) return value as UserDataFormat;
  throw new SwarmkeeperError('Usage', `--format must be one of ${USER_DATA_FORMATS.join(', ')} (got ${value})`);
}
