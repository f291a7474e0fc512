// `swarmkeeper docker-cert NAME --out-dir DIR`: what a controller or an operator outside
// the swarm needs to reach the cluster's managers' docker API over mutual TLS
// (SWARMKEEPER_DOCKER_TLS_CA, _CERT, _KEY): the cluster's docker CA certificate, and a new
// client certificate and key signed by it. The CA is created in the management etcd when
// the cluster has none, and from then on the cluster uses docker TLS: every controller
// gives its new managers certificates (src/controller/cluster-docker-tls.ts). The client
// key is written 0600 and never printed; the CA key never leaves the management etcd.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { clusterDockerTls } from '../../controller/cluster-docker-tls.ts';
import { etcdDockerCaSecrets } from '../../store/create-once-secret.ts';
import { SwarmkeeperError } from '../../errors.ts';
import { resolveCluster } from '../../spec/defaults.ts';
import { notFound, withStore } from '../input.ts';

interface DockerCertFlags {
  outDir: string;
  commonName: string;
}

export function registerDockerCert(program: Command): void {
  program
    .command('docker-cert')
    .description("Write the cluster's docker CA and a client certificate for its managers' docker API (mutual TLS, port 2376)")
    .argument('<name>', 'cluster name (provider ec2)')
    .requiredOption('--out-dir <dir>', 'where ca.pem, cert.pem and key.pem (0600) are written; none of them may exist yet')
    .option('--common-name <cn>', "the client certificate's subject CN", 'swarmkeeper-controller')
    .addHelpText(
      'after',
      '\nPrints the SWARMKEEPER_DOCKER_TLS_* settings that point at the files.\n\nExamples:\n  swarmkeeper docker-cert prod --out-dir ./prod-docker-tls\n  swarmkeeper docker-cert prod --out-dir ~/.swarmkeeper/prod --common-name alice',
    )
    .action(async (name: string, flags: DockerCertFlags, cmd: Command) => {
      const dir = resolve(flags.outDir);
      const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
      const taken = Object.values(files).filter((f) => existsSync(f));
      if (taken.length > 0)
        throw new SwarmkeeperError('Usage', `--out-dir ${dir}: ${taken.join(', ')} already exist; choose another directory or remove them`);
      if (!/^[A-Za-z0-9 ._@-]{1,64}$/.test(flags.commonName))
        throw new SwarmkeeperError('Usage', `--common-name ${flags.commonName}: use 1 to 64 letters, digits, spaces and . _ @ -`);
      const issued = await withStore(cmd, async (store) => {
        const stored = await store.get(name);
        if (!stored) throw notFound(name);
        const provider = resolveCluster(stored.cluster).providerName;
        if (provider !== 'ec2')
          throw new SwarmkeeperError(
            'Precondition',
            `cluster ${name} uses provider ${provider}: its managers' docker API is their local socket (docker TLS is for ec2)`,
          );
        const ca = await clusterDockerTls({ secretOf: etcdDockerCaSecrets(store.client, store.prefix), controllerUsesTls: true }).caOf(
          name,
        );
        if (!ca) throw new SwarmkeeperError('Internal', `no docker CA for cluster ${name} after creating it`);
        return { caPem: ca.caPem, ...(await ca.issueClientCert(flags.commonName)) };
      });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // 'wx': never over a file that appeared since the check above.
      writeFileSync(files.ca, issued.caPem, { mode: 0o644, flag: 'wx' });
      writeFileSync(files.cert, issued.cert, { mode: 0o644, flag: 'wx' });
      writeFileSync(files.key, issued.key, { mode: 0o600, flag: 'wx' });
      process.stderr.write(
        `wrote ${files.ca}, ${files.cert} and ${files.key} (CN=${flags.commonName}, valid until ${issued.notAfter.toISOString()})\n`,
      );
      process.stdout.write(
        `SWARMKEEPER_DOCKER_TLS_CA=${files.ca}\nSWARMKEEPER_DOCKER_TLS_CERT=${files.cert}\nSWARMKEEPER_DOCKER_TLS_KEY=${files.key}\n`,
      );
    });
}
