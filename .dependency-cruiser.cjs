// The layer map of docs/architecture.md, held by `npm run lint`.
//
// Each layer imports only from the layers below it (same-layer imports are allowed,
// but no two folders may import each other, directly or around a loop). The node
// agent is a program of its own: only the wiring and the local provider, which runs
// agents as processes, may import it. Only the two etcd adapters speak etcd3.
/** Top to bottom. A folder path is a regular expression on the file's path. */
const LAYERS = [
  { name: 'wiring', path: '^src/cli/' },
  { name: 'listeners', path: '^src/notify/' },
  // src/kube/: the Kubernetes spec source the loop plugs in (watch, intake, status, Events).
  { name: 'the loop', path: '^src/(controller|kube)/' },
  { name: 'routes', path: '^src/http/' },
  { name: 'what a cycle does', path: '^src/(act|observe|heal|backup|workload)/' },
  { name: 'providers', path: '^src/providers/' },
  { name: 'the agent', path: '^src/node/' },
  { name: 'adapters', path: '^src/(store|swarm|etcd|cloudconfig)/' },
  { name: 'protocol', path: '^src/protocol/' },
  { name: 'pure', path: '^src/(plan|model|spec)/' },
  { name: 'ground floor', path: '^src/(process|net)/|^src/[^/]+\\.ts$' },
];

const backEdges = LAYERS.flatMap((lower, i) =>
  LAYERS.slice(0, i).map((upper) => ({
    name: `layer: ${lower.name} -> ${upper.name}`,
    comment: `${lower.name} sits below ${upper.name} in docs/architecture.md: move the shared part down (a port, a type) instead`,
    severity: 'error',
    from: { path: lower.path },
    to: { path: upper.path },
  })),
);

module.exports = {
  forbidden: [
    ...backEdges,
    {
      name: 'no-folder-cycle',
      comment: 'Folders that import each other cannot be read, tested or moved one at a time',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-file-cycle',
      comment:
        'Files that import each other are one module in two files: move the shared part into a third (a lazy import() that only runs a command is not counted)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'agent-is-a-program',
      comment: "The controller and the agent share src/protocol/, never each other's code",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|node|providers/local)/' },
      to: { path: '^src/node/' },
    },
    {
      name: 'loop-knows-no-routes',
      comment: 'The routes serve what the loop records through ports it defines (loop-metrics.ts); the loop never imports a route',
      severity: 'error',
      from: { path: '^src/controller/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'etcd3-behind-ports',
      comment: "The etcd3 client stays in src/store/ (management etcd) and src/etcd/ (the cluster's etcd): use their ports",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(store|etcd)/' },
      to: { path: '(^|/)node_modules/etcd3/' },
    },
  ],
  options: {
    exclude: { path: '\\.test\\.ts$' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
