// What the local provider needs from the machine, checked before anything starts so
// the user is told exactly what to install instead of meeting a spawn ENOENT later.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SwarmkeeperError } from '../../errors.ts';

export interface LocalPrerequisite {
  readonly binary: string;
  readonly install: string;
}

export const LOCAL_PREREQUISITES: readonly LocalPrerequisite[] = [
  { binary: 'dockerd', install: 'apt-get install docker.io' },
  { binary: 'etcd', install: 'apt-get install etcd-server' },
  { binary: 'umount', install: 'apt-get install mount' },
];

export interface PreflightResult {
  readonly missing: readonly LocalPrerequisite[];
  readonly root: boolean;
  /** One line per problem, saying what to do. Empty when all is well. */
  readonly problems: readonly string[];
}

export function checkLocalPrerequisites(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
): PreflightResult {
  const missing = LOCAL_PREREQUISITES.filter((p) => findInPath(p.binary, env.PATH ?? '') === undefined);
  const root = uid === 0;
  const problems = [
    ...missing.map((p) => `${p.binary} was not found in PATH: install it with \`${p.install}\``),
    ...(root ? [] : ['the local provider starts dockerd, which needs root: run swarmkeeper as root (sudo), or use the sim provider']),
  ];
  return { missing, root, problems };
}

/** Throws Unavailable listing every problem (what to install, that root is needed). */
export function assertLocalPrerequisites(env?: NodeJS.ProcessEnv, uid?: number): void {
  const r = checkLocalPrerequisites(env, uid ?? process.getuid?.());
  if (r.problems.length > 0) {
    throw new SwarmkeeperError('Unavailable', `the local provider cannot run here: ${r.problems.join('; ')}`, {
      details: { missing: r.missing.map((m) => m.binary), root: r.root },
    });
  }
}

export function findInPath(binary: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
