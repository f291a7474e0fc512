// The management image in the test's registry: built by scripts/image.sh (cached),
// loaded into the management host's dockerd, tagged for the loopback registry and
// pushed there, the way a user pushes it to their own registry. Nodes pull it by that
// reference; the controller runs the same image from the management host.
import type { E2eWorld } from './ec2-e2e-world.ts';
import { buildSwarmkeeperImage } from './swarmkeeper-image.ts';

export interface PublishedImage {
  /** The reference on the management host (what `docker run` of the controller uses). */
  readonly local: string;
  /** The reference in the registry (what the nodes' bootstrap unit pulls). */
  readonly remote: string;
}

export async function publishManagementImage(world: E2eWorld): Promise<PublishedImage> {
  const { archive, ref } = await buildSwarmkeeperImage();
  await world.docker(['load', '-i', archive]);
  const tag = ref.slice(ref.lastIndexOf(':') + 1);
  const remote = `${world.registry.host}/swarmkeeper:${tag}`;
  await world.docker(['tag', ref, remote]);
  // Registries on 127.0.0.0/8 are plain HTTP for docker by default: no TLS set-up needed.
  await world.docker(['push', remote]);
  return { local: ref, remote };
}
