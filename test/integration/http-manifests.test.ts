// The deployment manifests, checked statically and with the real tools that consume
// them: every YAML parses; `kubectl kustomize` renders the Kubernetes set (with the
// CRD); promtool checks and unit-tests the alert rules; amtool checks the Alertmanager
// config and routes a healing alert to the webhook. The Dockerfile cannot be built
// here (no image registry, so no base image), so its structure is checked instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url).pathname;
const M = join(ROOT, 'manifests');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(f) ? [p] : [];
  });
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

describe('manifests: every YAML file', () => {
  const files = yamlFiles(M);
  it('exists', () => {
    expect(files.map((f) => relative(M, f)).sort()).toEqual(
      expect.arrayContaining([
        'alertmanager/alertmanager.yml',
        'kubernetes/deployment.yaml',
        'kubernetes/kustomization.yaml',
        'prometheus/swarmkeeper-rules.yml',
        'swarm/stack.yml',
      ]),
    );
  });
  it.each(files.map((f) => [relative(M, f), f]))('%s parses', (_name, file) => {
    const docs = parseAllDocuments(readFileSync(file as string, 'utf8'));
    for (const d of docs) expect(d.errors, `${file}: ${d.errors.join('; ')}`).toEqual([]);
  });
});

describe('manifests/Dockerfile', () => {
  const text = readFileSync(join(M, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM /i.test(l));
  const finalStage = lines.slice(lines.lastIndexOf(stages[stages.length - 1] as string));

  it('is multi-stage on a small Node 24 base, with etcd from a pinned etcd image', () => {
    expect(lines).toContain('ARG NODE_IMAGE=node:24.22.3-bookworm-slim');
    expect(lines).toContain('ARG ETCD_IMAGE=gcr.io/etcd-development/etcd:v3.4.23');
    expect(stages[0]).toBe('FROM ${ETCD_IMAGE} AS etcd');
    const nodeStages = stages.slice(1);
    expect(nodeStages.length).toBeGreaterThanOrEqual(2);
    for (const s of nodeStages) expect(s).toMatch(/^FROM \$\{NODE_IMAGE\} AS /);
    expect(finalStage).toContain('COPY --from=etcd /usr/local/bin/etcd /usr/local/bin/etcdctl /usr/local/bin/');
  });
  it('builds with tsc and installs production dependencies only for the runtime', () => {
    expect(lines).toContainEqual(expect.stringMatching(/^RUN npm ci .*--omit=dev/));
    expect(lines).toContainEqual(expect.stringMatching(/^RUN npm run build/));
    // `npm run build` is scripts/build.mjs: tsc with tsconfig.build.json, then the build stamp.
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.build).toBe('node scripts/build.mjs');
    expect(readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8')).toMatch(/'-p', 'tsconfig\.build\.json'/);
    expect(finalStage).toContainEqual(expect.stringMatching(/^COPY --from=deps \/app\/node_modules/));
    expect(finalStage).toContainEqual(expect.stringMatching(/^COPY --from=build \/src\/dist/));
  });
  it('runs as a non-root user, exposes 8080, checks /healthz', () => {
    expect(finalStage).toContain('USER node');
    expect(finalStage).toContain('EXPOSE 8080');
    const hc = finalStage.find((l) => l.startsWith('HEALTHCHECK'));
    expect(hc).toMatch(/127\.0\.0\.1:8080\/healthz/);
    expect(finalStage.find((l) => l.startsWith('ENTRYPOINT'))).toBe(
      'ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/swarmkeeper.js"]',
    );
    // Without --http-listen nothing serves /healthz and the health check would fail.
    expect(finalStage.find((l) => l.startsWith('CMD'))).toBe('CMD ["run", "--http-listen", "0.0.0.0:8080"]');
  });
  it('copies only paths that exist in the repository, and the ignore file lets them in', () => {
    const sources = lines.filter((l) => /^COPY /.test(l) && !/--from=/.test(l)).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const s of sources) expect(existsSync(join(ROOT, s)), s).toBe(true);
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
    for (const s of sources) expect(ignore, s).toMatch(new RegExp(`^!${s.replace(/[.]/g, '\\.')}(/\\*\\*)?$`, 'm'));
  });
});

describe('the CLI the manifests call', () => {
  it('has every flag and environment variable they use', () => {
    const help = (run('node', ['bin/swarmkeeper.js', 'run', '--help']) + run('node', ['bin/swarmkeeper.js', '--help'])).replace(
      /\s+/g,
      ' ',
    );
    const used = new Set<string>();
    for (const f of ['swarm/stack.yml', 'kubernetes/deployment.yaml', 'kubernetes/configmap.yaml', 'Dockerfile']) {
      const text = readFileSync(join(M, f), 'utf8');
      for (const m of text.matchAll(/(?<![\w-])--(http-listen|webhook-token-file|[a-z]+(?:-[a-z]+)+)\b/g)) used.add(`--${m[1]}`);
      // Environment variables the CLI reads. Comments and `${VAR}` interpolations name the
      // stack's own variables, checked against its header below.
      const code = text.replaceAll(/^\s*#.*$/gm, '').replaceAll(/\$\{[A-Z_]+/g, '');
      for (const m of code.matchAll(/\b(SWARMKEEPER_[A-Z_]+)\b/g)) used.add(m[1] as string);
    }
    // Flags of other programs that appear in those files (node's own before the script).
    for (const other of [
      '--max-semi-space-size',
      '--build-arg',
      '--user',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--omit',
      '--from',
      '--interval',
      '--timeout',
      '--start-period',
      '--retries',
      '--from-file',
      '--from-literal',
      '--force',
    ])
      used.delete(other);
    const envOf: Record<string, string> = {
      SWARMKEEPER_ETCD_ENDPOINTS: '--etcd-endpoints',
      SWARMKEEPER_PREFIX: '--prefix',
      SWARMKEEPER_ETCD_USERNAME: '--etcd-username',
      SWARMKEEPER_ETCD_PASSWORD: '--etcd-password',
      SWARMKEEPER_ETCD_CACERT: '--etcd-cacert',
      SWARMKEEPER_ETCD_CERT: '--etcd-cert',
      SWARMKEEPER_ETCD_KEY: '--etcd-key',
      SWARMKEEPER_LOG_LEVEL: '--log-level',
      SWARMKEEPER_SELF_INSTANCE_ID: '--self-instance-id',
      SWARMKEEPER_TLS_CERT_FILE: '--tls-cert-file',
      SWARMKEEPER_TLS_KEY_FILE: '--tls-key-file',
      SWARMKEEPER_BOOTSTRAP_URL: '--bootstrap-url',
      SWARMKEEPER_BOOTSTRAP_CA_FILE: '--bootstrap-ca-file',
      SWARMKEEPER_AGENT_IMAGE: '--agent-image',
    };
    for (const u of used) {
      if (u.startsWith('--')) expect(help, u).toContain(u);
      else {
        expect(Object.keys(envOf), `${u} is not an environment variable the CLI reads`).toContain(u);
        if (envOf[u]) expect(help).toContain(`env: ${u}`);
      }
    }
    expect(used).toContain('--http-listen');
    expect(used).toContain('--webhook-token-file');
  });
});

describe('manifests/swarm/stack.yml', () => {
  const text = readFileSync(join(M, 'swarm/stack.yml'), 'utf8');
  const stack: Doc = parse(text);
  const svc = stack.services.controller;
  const entry = svc.entrypoint.join(' ');
  it('runs on managers with the docker socket, one replica per node, rolling updates', () => {
    expect(svc.deploy.placement.constraints).toContain('node.role == manager');
    expect(svc.deploy.placement.max_replicas_per_node).toBe(1);
    expect(svc.volumes).toContainEqual({ type: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock' });
    expect(svc.deploy.update_config).toMatchObject({ parallelism: 1, failure_action: 'rollback' });
  });
  it("passes the controller its own node's instance id and private address from the node.env the user-data writes", () => {
    const nodeEnv = readFileSync(join(ROOT, 'cloud-config/units/node-env.sh'), 'utf8');
    expect(nodeEnv).toContain('/run/swarmkeeper/node.env');
    expect(nodeEnv).toMatch(/printf '(?:[A-Z_]+=%s\\n)*INSTANCE_ID=%s\\nPRIVATE_IPV4=%s\\n/);
    expect(entry).toContain(`SWARMKEEPER_SELF_INSTANCE_ID="$$(sed -n 's/^INSTANCE_ID=//p' /run/swarmkeeper/node.env 2>/dev/null)"`);
    expect(svc.volumes).toContainEqual({ type: 'bind', source: '/run/swarmkeeper', target: '/run/swarmkeeper', read_only: true });
  });
  it("serves on the host network at the node's private address, where nodes outside the swarm reach it", () => {
    // An overlay network would hide the port from the nodes that are still booting.
    expect(svc.networks).toEqual(['hostnet']);
    expect(stack.networks.hostnet).toEqual({ external: true, name: 'host' });
    expect(entry).toContain(
      `--http-listen "$$(sed -n 's/^PRIVATE_IPV4=//p' /run/swarmkeeper/node.env 2>/dev/null | grep . || echo 0.0.0.0):8443"`,
    );
    expect(entry).toMatch(/--webhook-token-file \/run\/secrets\/swarmkeeper_alert_token/);
    // The liveness probe asks the same address and port, over HTTPS.
    const probe = svc.healthcheck.test.join(' ');
    expect(probe).toMatch(/node:https/);
    expect(probe).toMatch(/PRIVATE_IPV4=/);
    expect(probe).toMatch(/port: 8443, path: '\/healthz'/);
  });
  it('runs the bootstrap exchange over HTTPS, with the URL from a required variable and the CA nodes trust', () => {
    const env = svc.environment;
    expect(env.SWARMKEEPER_BOOTSTRAP_URL).toMatch(/^\$\{SWARMKEEPER_BOOTSTRAP_URL:\?/);
    expect(env.SWARMKEEPER_TLS_CERT_FILE).toBe('/run/secrets/swarmkeeper_tls_cert');
    expect(env.SWARMKEEPER_TLS_KEY_FILE).toBe('/run/secrets/swarmkeeper_tls_key');
    expect(env.SWARMKEEPER_BOOTSTRAP_CA_FILE).toBe('/run/secrets/swarmkeeper_bootstrap_ca');
    // The agent image nodes pull is the image the stack runs.
    expect(env.SWARMKEEPER_AGENT_IMAGE).toBe(svc.image);
  });
  it('reads only the variables its header documents, and says the bootstrap order', () => {
    const header = text.slice(0, text.indexOf('\nversion:'));
    const documented = new Set([...header.matchAll(/^#\s+(SWARMKEEPER_[A-Z_]+)\s{2,}/gm)].map((m) => m[1]));
    const read = new Set([...text.matchAll(/\$\{(SWARMKEEPER_[A-Z_]+)/g)].map((m) => m[1]));
    expect([...read].sort()).toEqual([...documented].sort());
    expect(header).toMatch(/Bootstrap order:[\s\S]*outside the cluster[\s\S]*deploy this stack[\s\S]*election/);
  });
  it('takes every secret from docker secrets, which exist outside the stack', () => {
    for (const s of svc.secrets) expect(stack.secrets[s]).toEqual({ external: true });
    for (const s of Object.keys(stack.secrets)) expect(header(text), s).toContain(`docker secret create ${s} `);
    const env = Object.entries(svc.environment).map(([k, v]) => [k, String(v)] as const);
    const secretVars = env.filter(([k]) => /PASSWORD|TOKEN|KEY|CERT|CA_FILE/.test(k));
    expect(secretVars.length).toBeGreaterThan(0);
    for (const [k, v] of secretVars) expect(v, k).toMatch(/^\/run\/secrets\//);
    for (const [k, v] of env.filter(([, v]) => v.startsWith('/run/secrets/')))
      expect(svc.secrets, k).toContain(v.slice('/run/secrets/'.length));
    expect(entry).toContain('/run/secrets/swarmkeeper_etcd_password');
  });
});

function header(text: string): string {
  return text.slice(0, text.indexOf('\nversion:'));
}

describe('manifests/kubernetes', () => {
  const rendered = run('kubectl', ['kustomize', 'manifests/kubernetes']);
  const docs: Doc[] = parseAllDocuments(rendered).map((d) => d.toJSON());
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

  it('renders with kubectl kustomize, CRD included', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'CustomResourceDefinition',
        'Deployment',
        'Namespace',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    expect(byKind('CustomResourceDefinition')[0].metadata.name).toBe('swarmclusters.swarmkeeper.dev');
  });

  it('deploys the controller with probes, its port and a restricted security context', () => {
    const [dep] = byKind('Deployment');
    const pod = dep.spec.template.spec;
    const [c] = pod.containers;
    expect(c.image).toMatch(/^swarmkeeper:\d+\.\d+\.\d+$/);
    expect(c.args.slice(0, 5)).toEqual(['run', '--spec-source', 'kubernetes', '--http-listen', '0.0.0.0:8080']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount')[0].metadata.name);
    // Secret files named by flags and env vars live in the mounted secret volume.
    const mount = c.volumeMounts.find((v: Doc) => v.name === 'secrets').mountPath;
    const tokenFile = c.args[c.args.indexOf('--webhook-token-file') + 1];
    const files = [tokenFile, ...c.env.filter((e: Doc) => /CACERT|CERT|KEY/.test(e.name)).map((e: Doc) => e.value)];
    expect(files).toHaveLength(4);
    for (const f of files) expect(f.startsWith(`${mount}/`), f).toBe(true);
    expect(pod.volumes.find((v: Doc) => v.name === 'secrets').secret.secretName).toBe('swarmkeeper');
  });

  it('binds the role to the service account and lets it write SwarmCluster status', () => {
    const [binding] = byKind('ClusterRoleBinding');
    const [role] = byKind('ClusterRole');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'swarmkeeper', namespace: 'swarmkeeper' }]);
    expect(role.rules).toContainEqual({ apiGroups: ['swarmkeeper.dev'], resources: ['swarmclusters/status'], verbs: ['patch'] });
  });
});

describe('manifests/prometheus and manifests/alertmanager', () => {
  const rules: Doc = parse(readFileSync(join(M, 'prometheus/swarmkeeper-rules.yml'), 'utf8'));
  const all = rules.groups.flatMap((g: Doc) => g.rules);
  const healing = all.filter((r: Doc) => r.labels?.swarmkeeper_heal === 'true');

  it('healing rules carry instance_id and swarmkeeper_cluster', () => {
    expect(healing.map((r: Doc) => r.alert)).toEqual(expect.arrayContaining(['SwarmNodeDown', 'EtcdMemberDown', 'DockerEngineDown']));
    for (const r of healing) {
      expect(r.labels.instance_id, r.alert).toBe('{{ $labels.instance_id }}');
      expect(r.labels.swarmkeeper_cluster, r.alert).toBe('{{ $labels.swarmkeeper_cluster }}');
      expect(r.expr, r.alert).toMatch(/instance_id!=""/);
    }
  });

  it('pass promtool check and its rule unit tests, and the scrape config is valid', () => {
    expect(run('promtool', ['check', 'rules', 'manifests/prometheus/swarmkeeper-rules.yml'])).toMatch(/SUCCESS: \d+ rules found/);
    expect(run('promtool', ['test', 'rules', 'manifests/prometheus/swarmkeeper-rules.test.yml'])).toContain('SUCCESS');
    expect(run('promtool', ['check', 'config', 'manifests/prometheus/prometheus.yml'])).toContain('is valid prometheus config file');
  });

  it('the metric names the rules use are the ones swarmkeeper exports', async () => {
    const { METRIC_NAMES } = await import('../../src/http/metrics.ts');
    const { BACKUP_METRIC_NAMES } = await import('../../src/http/backup-metrics.ts');
    const used = new Set(all.flatMap((r: Doc) => (r.expr as string).match(/swarmkeeper_[a-z_]+/g) ?? []));
    const known = new Set<string>([...Object.values(METRIC_NAMES), ...Object.values(BACKUP_METRIC_NAMES)]);
    expect(used.size).toBeGreaterThan(3);
    for (const name of used) expect(known.has(name as string), name as string).toBe(true);
  });

  it('Alertmanager config is valid and routes a healing alert to the webhook with the bearer token', () => {
    run('amtool', ['check-config', 'manifests/alertmanager/alertmanager.yml']);
    const routed = run('amtool', [
      'config',
      'routes',
      'test',
      '--config.file=manifests/alertmanager/alertmanager.yml',
      'swarmkeeper_heal=true',
      'instance_id=i-1',
      'swarmkeeper_cluster=prod',
    ]);
    expect(routed.trim().split(',')).toContain('swarmkeeper');
    const other = run('amtool', [
      'config',
      'routes',
      'test',
      '--config.file=manifests/alertmanager/alertmanager.yml',
      'alertname=SwarmkeeperNoLeader',
    ]);
    expect(other.trim()).toBe('ops');
    const am: Doc = parse(readFileSync(join(M, 'alertmanager/alertmanager.yml'), 'utf8'));
    const [hook] = am.receivers.find((r: Doc) => r.name === 'swarmkeeper').webhook_configs;
    expect(hook.url).toMatch(/\/v1\/alerts$/);
    expect(hook.send_resolved).toBe(true);
    expect(hook.http_config.authorization.type).toBe('Bearer');
    const route = am.route.routes.find((r: Doc) => r.receiver === 'swarmkeeper');
    expect(route.group_by).toEqual(expect.arrayContaining(['instance_id', 'swarmkeeper_cluster']));
  });
});
