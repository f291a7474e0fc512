// Parses emitted log lines and proves secrets never reach them, for every shape our
// modules log secrets in: each case logs a value under a path, the test parses the JSON
// line, checks the path holds "[redacted]" and that the secret appears nowhere in the
// raw line.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { wrapError } from './errors.ts';
import { createLogger, REDACT_PATHS } from './log.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ destination, level: 'debug' });
  return { logger, lines };
}

const SECRET = 'S3cr3t-VALUE-should-never-appear';

/** [name, object logged, path to the secret in the parsed line] */
const CASES: [string, Record<string, unknown>, string[]][] = [
  ['swarm join token', { joinToken: SECRET }, ['joinToken']],
  ['join tokens by role', { joinTokens: { worker: SECRET, manager: SECRET } }, ['joinTokens']],
  ['join tokens nested in a step', { step: { joinTokens: { worker: SECRET } } }, ['step', 'joinTokens']],
  ['swarm tokens from the secrets key', { tokens: { worker: SECRET } }, ['tokens']],
  ['etcd password', { password: SECRET }, ['password']],
  ['etcd password in options', { etcd: { password: SECRET } }, ['etcd', 'password']],
  ['etcd password two levels down', { opts: { etcd: { password: SECRET } } }, ['opts', 'etcd', 'password']],
  ['etcd password as CLI option', { options: { etcdPassword: SECRET } }, ['options', 'etcdPassword']],
  ['AWS secret access key', { aws: { secretAccessKey: SECRET } }, ['aws', 'secretAccessKey']],
  ['AWS access key id', { aws: { accessKeyId: SECRET } }, ['aws', 'accessKeyId']],
  ['AWS session token', { aws: { sessionToken: SECRET } }, ['aws', 'sessionToken']],
  ['AWS credentials object', { credentials: { accessKeyId: SECRET, secretAccessKey: SECRET } }, ['credentials']],
  ['AWS credentials in a client config', { config: { credentials: { secretAccessKey: SECRET } } }, ['config', 'credentials']],
  ['alert webhook token', { webhookToken: SECRET }, ['webhookToken']],
  ['alert webhook token in server options', { alerts: { webhookToken: SECRET } }, ['alerts', 'webhookToken']],
  ['notification webhook URL', { webhookUrl: `https://hooks.example/services/${SECRET}` }, ['webhookUrl']],
  ['notification webhook URL in options', { notify: { webhookUrl: `https://hooks.example/${SECRET}` } }, ['notify', 'webhookUrl']],
  ['bootstrap token', { bootstrapToken: SECRET }, ['bootstrapToken']],
  ['bootstrap token in agent config', { agent: { bootstrapToken: SECRET } }, ['agent', 'bootstrapToken']],
  ['bootstrap token in a launch request', { req: { agent: { bootstrapToken: SECRET } } }, ['req', 'agent', 'bootstrapToken']],
  ['authorization header of a request', { req: { headers: { authorization: `Bearer ${SECRET}` } } }, ['req', 'headers', 'authorization']],
  ['authorization header bare', { headers: { authorization: `Bearer ${SECRET}` } }, ['headers', 'authorization']],
  ['Authorization header capitalised', { headers: { Authorization: `Bearer ${SECRET}` } }, ['headers', 'Authorization']],
  ['authorization header of a response or client', { res: { headers: { authorization: SECRET } } }, ['res', 'headers', 'authorization']],
  ['TLS private key', { tls: { key: SECRET } }, ['tls', 'key']],
  ['user-data (holds tokens)', { launch: { userData: SECRET } }, ['launch', 'userData']],
  ['generic token field', { node: { token: SECRET } }, ['node', 'token']],
  ['generic secret field', { secret: SECRET }, ['secret']],
];

const BOOTSTRAP_TOKEN = 'skb1.0123456789abcdef.fedcba9876543210fedcba9876543210';
const BOOTSTRAP_SECRET = 'fedcba9876543210fedcba9876543210';

/** [name, error logged as { err }, the secret that must not appear] */
const ERROR_CASES: [string, () => unknown, string][] = [
  ['a join token in the message', () => new Error(`join refused: SWMTKN-1-${SECRET}`), SECRET],
  [
    'a join token in the cause',
    () => new Error('joining the swarm', { cause: new Error(`invalid join token SWMTKN-1-${SECRET}`) }),
    SECRET,
  ],
  [
    'a bootstrap token two causes down',
    () => new Error('bootstrapping', { cause: new Error('exchanging', { cause: new Error(`refused ${BOOTSTRAP_TOKEN}`) }) }),
    BOOTSTRAP_SECRET,
  ],
  ['a password in a URL', () => new Error(`fetch failed: https://root:${SECRET}@127.0.0.1:2379/v3/kv`), SECRET],
  ['a bearer token quoted from a request', () => new Error(`request with Authorization: Bearer ${SECRET} refused`), SECRET],
  ['a password=value pair', () => new Error(`etcd --password=${SECRET} refused`), SECRET],
  ['a JSON body echoed back', () => new Error(`400: {"token":"${SECRET}"}`), SECRET],
  [
    'a private key in the cause',
    () => new Error('loading TLS', { cause: new Error(`bad key -----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----`) }),
    SECRET,
  ],
  ['a token property on the error', () => Object.assign(new Error('refused'), { token: SECRET }), SECRET],
  [
    'a request object on the error',
    () =>
      Object.assign(new Error('refused'), {
        request: new Request('http://127.0.0.1/', { headers: { authorization: `Bearer ${SECRET}` } }),
      }),
    SECRET,
  ],
  [
    'a nested plain object with a header',
    () => Object.assign(new Error('refused'), { response: { headers: { authorization: SECRET } } }),
    SECRET,
  ],
  [
    'one error of an AggregateError',
    () => new AggregateError([new Error('a'), new Error(`b SWMTKN-1-${SECRET}`)], 'no manager answers'),
    SECRET,
  ],
  ['a thrown string', () => `boom SWMTKN-1-${SECRET}`, SECRET],
];

describe('error logging', () => {
  it.each(ERROR_CASES)('keeps %s out of the line', (_name, make, secret) => {
    const { logger, lines } = capture();
    logger.child({ cluster: 'prod' }).warn({ err: make() }, 'Something failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(JSON.parse(lines[0] as string)).toHaveProperty('err');
  });

  it('keeps the type, message, stack, code and the cause chain', () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2379'), { code: 'ECONNREFUSED', errno: -111 });
    logger.warn({ err: wrapError('listing members', cause) }, 'Listing failed');
    const { err } = JSON.parse(lines[0] as string) as { err: Record<string, unknown> & { cause: Record<string, unknown> } };
    expect(err).toMatchObject({
      type: 'SwarmkeeperError',
      message: 'listing members: connect ECONNREFUSED 127.0.0.1:2379',
      code: 'Unavailable',
    });
    expect(err.stack).toMatch(/^UnavailableError: listing members[^\n]*\n\s+at /);
    expect(err.cause).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:2379', code: 'ECONNREFUSED', errno: -111 });
    expect(err.cause.stack).toMatch(/\n\s+at /);
  });

  it('keeps plain facts an error carries and drops live objects', () => {
    const { logger, lines } = capture();
    const err = Object.assign(new Error('refused'), { statusCode: 409, details: { field: 'spec.managers' }, socket: new Writable() });
    logger.warn({ err }, 'Refused');
    const parsed = JSON.parse(lines[0] as string) as { err: Record<string, unknown> };
    expect(parsed.err).toMatchObject({ statusCode: 409, details: { field: 'spec.managers' } });
    expect(parsed.err).not.toHaveProperty('socket');
  });
});

describe('log redaction', () => {
  it.each(CASES)('redacts the %s', (_name, obj, path) => {
    const { logger, lines } = capture();
    logger.info(obj, 'Logging something with a secret');
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line).not.toContain(SECRET);
    let v: unknown = JSON.parse(line);
    for (const p of path) v = (v as Record<string, unknown>)[p];
    expect(v).toBe('[redacted]');
  });

  it('redacts in child loggers and bindings too', () => {
    const { logger, lines } = capture();
    logger
      .child({ cluster: 'prod', etcd: { password: SECRET } })
      .child({ cycle: 7 })
      .warn({ joinToken: SECRET }, 'Child line');
    const parsed = JSON.parse(lines[0] as string);
    expect(lines[0]).not.toContain(SECRET);
    expect(parsed).toMatchObject({ cluster: 'prod', cycle: 7, msg: 'Child line', joinToken: '[redacted]' });
  });

  it('keeps everything that is not a secret', () => {
    const { logger, lines } = capture();
    logger.info({ cluster: 'prod', instanceId: 'i-0123', step: { kind: 'instance.launch' } }, 'Launching instances');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      name: 'swarmkeeper',
      level: 30,
      cluster: 'prod',
      instanceId: 'i-0123',
      step: { kind: 'instance.launch' },
      msg: 'Launching instances',
    });
  });

  it('every redact path is exercised by a case', () => {
    // A path nobody tests could be mistyped and silently redact nothing.
    const tested = new Set(CASES.map(([, , path]) => path.join('.')));
    const generic = (p: string) => p.replace(/^(\*\.)+/, '');
    const covered = REDACT_PATHS.filter((p) => [...tested].some((t) => t === p || t.endsWith(`.${generic(p)}`) || t === generic(p)));
    const uncovered = REDACT_PATHS.filter((p) => !covered.includes(p) && !['cert', '*.cert', 'key', 'userData'].includes(p));
    expect(uncovered).toEqual([]);
  });
});
