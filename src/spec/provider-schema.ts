// The provider block of a SwarmCluster spec: exactly one of ec2, local or sim.
import { Type, type Static } from '@sinclair/typebox';
import { IMAGE_REF_PATTERN } from './image-ref.ts';

const strict = { additionalProperties: false } as const;

export const Ec2ProviderSchema = Type.Object(
  {
    region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' }),
    imageId: Type.String({ pattern: '^ami-[0-9a-f]{8,17}$' }),
    subnetIds: Type.Array(Type.String({ pattern: '^subnet-[0-9a-f]{8,17}$' }), { minItems: 1, maxItems: 16 }),
    securityGroupIds: Type.Array(Type.String({ pattern: '^sg-[0-9a-f]{8,17}$' }), { minItems: 1, maxItems: 16 }),
    keyName: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    iamInstanceProfile: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    // Key rules (1-127 characters, no "aws:" prefix) are cross-field rules in rules.ts:
    // TypeBox records do not check keys.
    tags: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 127 }), Type.String({ maxLength: 255 }), { maxProperties: 40 })),
    /** An EC2-compatible endpoint (tests use a moto server on loopback). */
    endpoint: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    /**
     * The swarmkeeper image nodes run their agent from, in the user's registry: pinned to
     * a version tag or a digest (a cross-field rule refuses :latest and untagged).
     */
    agentImage: Type.Optional(Type.String({ pattern: IMAGE_REF_PATTERN, maxLength: 255 })),
    /** Nodes' user-data: cloud-config (coreos-cloudinit, the default) or Ignition (Flatcar's recommended path). */
    userDataFormat: Type.Optional(Type.Union([Type.Literal('cloud-config'), Type.Literal('ignition')])),
  },
  strict,
);

export const LocalProviderSchema = Type.Object(
  {
    /** Where instance directories live; default under the OS temp dir. */
    baseDir: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** Second octet of the 127.N.x.y block the instances get addresses from. */
    addressBlock: Type.Optional(Type.Integer({ minimum: 1, maximum: 254 })),
  },
  strict,
);

export const SimProviderSchema = Type.Object(
  {
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    bootDelaySeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600 })),
    /** Simulated availability zones new nodes are spread over (the planner's zone list). */
    zones: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 })),
  },
  strict,
);

export const ProviderSchema = Type.Object(
  {
    ec2: Type.Optional(Ec2ProviderSchema),
    local: Type.Optional(LocalProviderSchema),
    sim: Type.Optional(SimProviderSchema),
  },
  { ...strict, minProperties: 1, maxProperties: 1 },
);

export type Ec2ProviderSpec = Static<typeof Ec2ProviderSchema>;
export type LocalProviderSpec = Static<typeof LocalProviderSchema>;
export type SimProviderSpec = Static<typeof SimProviderSchema>;
export type ProviderSpec = Static<typeof ProviderSchema>;
export type ProviderName = keyof ProviderSpec;
