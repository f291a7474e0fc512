// `npm run build`: compiles src/ to dist/ (tsconfig.build.json), bundles the node agent's
// entry, and stamps the build with the time it started, which
// scripts/build-freshness.mjs compares with the sources' mtimes.
// --if-stale (scripts/setup.sh): only when a source changed since the last build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_STAMP, compiledIsCurrent } from './build-freshness.mjs';

const nodeRequire = createRequire(import.meta.url);

if (process.argv.includes('--if-stale') && compiledIsCurrent()) process.exit(0);
const started = new Date();
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
  cwd: new URL('..', import.meta.url),
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
await bundleNodeAgent();
mkdirSync(dirname(BUILD_STAMP), { recursive: true });
writeFileSync(BUILD_STAMP, `${started.toISOString()}\n`);
utimesSync(BUILD_STAMP, started, started);

/**
 * The node agent's entry (src/cli/node-main.ts) as one file, written over tsc's output
 * for it. Every node starts an agent, and most of an agent's start-up was Node resolving
 * and loading a few hundred module files: 0.55 s of CPU against 0.30 s for the bundle,
 * measured alone; on two cores with three agents and three dockerds booting at once
 * that is the founder's etcd starting later. etcd3 comes along (a third of what is left:
 * 0.18-0.23 s of CPU bundled against 0.24-0.26 s loaded from node_modules, measured
 * alone), its .proto files parsed at build time (below). docker-modem's optional native
 * ssh modules stay outside. Whitespace and syntax are minified (names are kept, so stack
 * traces still name functions): a third smaller file, ~30 ms less to read and compile
 * at each start.
 */
async function bundleNodeAgent() {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [fileURLToPath(new URL('../src/cli/node-main.ts', import.meta.url))],
    outfile: fileURLToPath(new URL('../dist/cli/node-main.js', import.meta.url)),
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['ssh2', 'cpu-features'],
    plugins: [etcd3ProtoParsedAtBuild(), protoReflectionOnDemand(), sshTransportOnDemand(), builtinsThroughRequire()],
    // CommonJS dependencies call require(): give the ES module bundle one.
    banner: { js: "import { createRequire as __skCreateRequire } from 'node:module'; const require = __skCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/**
 * etcd3 parses its .proto files (`${__dirname}/../proto/rpc.proto` and the two it imports)
 * when it loads, ~25 ms of CPU at every agent start. The bundle carries them parsed at
 * build time instead (protobufjs's JSON form of the same root, parsed with etcd3's
 * keepCase option, as @grpc/proto-loader's fromJSON takes it); the package definition is
 * built from it with etcd3's own options.
 */
function etcd3ProtoParsedAtBuild() {
  const rewrite = dependencyRewrite({
    name: 'etcd3-proto-parsed-at-build',
    file: /etcd3[\\/]lib[\\/]connection-pool\.js$/,
    what: 'loads its protos',
    from: '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {',
    to: "(0, proto_loader_1.fromJSON)(require('etcd3-rpc-proto-json'), {",
  });
  return {
    name: rewrite.name,
    setup(b) {
      rewrite.setup(b);
      b.onResolve({ filter: /^etcd3-rpc-proto-json$/ }, () => ({ path: 'etcd3-rpc-proto-json', namespace: 'etcd3-proto' }));
      b.onLoad({ filter: /.*/, namespace: 'etcd3-proto' }, () => {
        const protobuf = nodeRequire('protobufjs');
        const root = new protobuf.Root().loadSync(nodeRequire.resolve('etcd3/proto/rpc.proto'), { keepCase: true });
        return { contents: JSON.stringify(root.toJSON()), loader: 'json' };
      });
    },
  };
}

/**
 * @grpc/proto-loader describes every message and enum of a package definition for
 * reflection as it builds it (each file's descriptor encoded, each type's descriptor
 * turned into an object), and loads protobufjs's descriptor extension for that when it
 * loads. gRPC calls never read those descriptions (grpc-js takes the paths and the
 * serializers): for etcd3's ~140 types they cost ~30 ms of CPU at every agent start
 * (180 -> 152 ms to load the bundle, measured alone). In the bundle the extension loads,
 * and a type is described, when a description is first read.
 */
function protoReflectionOnDemand() {
  // proto-loader's `descriptor` module, required when first asked for.
  const extension = 'descriptorExtension';
  const typeDefinition = (fn, param, local, format) => ({
    from: [
      `function ${fn}(${param}, fileDescriptors) {`,
      `    const ${local} = ${param}.toDescriptor('proto3');`,
      '    return {',
      `        format: '${format}',`,
      `        type: ${local}.$type.toObject(${local}, descriptorOptions),`,
      '        fileDescriptorProtos: fileDescriptors,',
      '    };',
      '}',
    ].join('\n'),
    to: `function ${fn}(${param}, fileDescriptors) { return describedOnDemand('${format}', ${param}, fileDescriptors); }`,
  });
  // What both type definitions become: the same fields, each built on its first read.
  const describedOnDemand = [
    'function describedOnDemand(format, reflected, fileDescriptors) {',
    '    let type;',
    '    return {',
    '        format,',
    `        get type() { if (type === undefined) { ${extension}(); const d = reflected.toDescriptor('proto3'); type = d.$type.toObject(d, descriptorOptions); } return type; },`,
    '        get fileDescriptorProtos() { return fileDescriptors(); },',
    '    };',
    '}',
  ].join('\n');
  const messageDefinition = typeDefinition('createMessageDefinition', 'message', 'messageDescriptor', 'Protocol Buffer 3 DescriptorProto');
  return dependencyRewrite({
    name: 'proto-reflection-on-demand',
    // The copy etcd3 loads (grpc-js has its own, for channelz, left as it is).
    file: exactPath(createRequire(nodeRequire.resolve('etcd3')).resolve('@grpc/proto-loader')),
    what: 'describes its types as it builds a package definition',
    edits: [
      {
        from: 'const descriptor = require("protobufjs/ext/descriptor");',
        to: `const ${extension} = () => require("protobufjs/ext/descriptor");`,
      },
      { from: messageDefinition.from, to: `${messageDefinition.to}\n${describedOnDemand}` },
      typeDefinition('createEnumDefinition', 'enumType', 'enumDescriptor', 'Protocol Buffer 3 EnumDescriptorProto'),
      {
        from: [
          "    const descriptorList = root.toDescriptor('proto3').file;",
          '    const bufferList = descriptorList.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish()));',
        ].join('\n'),
        to: [
          '    let encodedFiles;',
          `    const bufferList = () => (encodedFiles ??= ((proto) => root.toDescriptor('proto3').file.map((value) => Buffer.from(proto.encode(value).finish())))(${extension}().FileDescriptorProto));`,
        ].join('\n'),
      },
      { from: 'descriptor.FileDescriptorSet.decode(', to: `${extension}().FileDescriptorSet.decode(` },
      { from: 'descriptor.FileDescriptorSet.fromObject(', to: `${extension}().FileDescriptorSet.fromObject(` },
    ],
  });
}

/**
 * docker-modem requires its ssh transport (and with it the ssh2 library, outside the
 * bundle) when it loads, ~30 ms of CPU at every agent start; the agent speaks to its
 * dockerd over a unix socket or TLS. The bundle loads the transport when a connection
 * over ssh:// asks for it, as docker-modem itself would have used it.
 */
function sshTransportOnDemand() {
  return dependencyRewrite({
    name: 'ssh-transport-on-demand',
    file: /docker-modem[\\/]lib[\\/]modem\.js$/,
    what: 'loads its ssh transport',
    from: "ssh = require('./ssh'),",
    to: "ssh = function (opt) { return require('./ssh')(opt); },",
  });
}

/** An esbuild filter matching one file. */
function exactPath(path) {
  return new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/**
 * An esbuild plugin replacing exact pieces of a dependency's file in the bundle (one
 * `from`/`to` pair, or several in `edits`). A dependency whose file no longer holds a
 * piece fails the build, so an upgrade cannot silently undo the rewrite.
 */
function dependencyRewrite({ name, file, what, from, to, edits = [{ from, to }] }) {
  return {
    name,
    setup(b) {
      b.onLoad({ filter: file }, (args) => {
        let source = readFileSync(args.path, 'utf8');
        for (const edit of edits) {
          if (!source.includes(edit.from)) {
            const first = edit.from.split('\n')[0];
            throw new Error(
              `${args.path} no longer ${what} with \`${first}\`: update or remove the '${name}' rewrite in scripts/build.mjs`,
            );
          }
          source = source.replace(edit.from, edit.to);
        }
        return { contents: source, loader: 'js' };
      });
    },
  };
}

/**
 * Node's built-in modules imported through require, not as ES modules: an ES import of a
 * built-in evaluates every getter it exports: node:http's loads undici (for its lazy
 * WebSocket), node:crypto's initialises webcrypto, neither used by the agent: ~30 ms of CPU
 * at every agent start (node -e, import of node:http and node:https against require).
 */
function builtinsThroughRequire() {
  return {
    name: 'builtins-through-require',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) =>
        args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-through-require' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'builtin-through-require' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
      }));
    },
  };
}
