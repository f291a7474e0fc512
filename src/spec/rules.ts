// Rules JSON Schema cannot state: they relate two fields, or constrain map keys and
// list uniqueness. Each rule is declared once here with its TypeScript check AND the
// form the CRD states it in (a CEL x-kubernetes-validations rule, or list-map keys), so
// validate.ts and crd.ts read the same list and cannot drift apart.
//
// Checks run only on documents that already passed the schema, so they may trust types.
import type { SwarmCluster } from './schema.ts';
import { imageRefProblem, PINNED_IMAGE_CEL, PINNED_IMAGE_MESSAGE } from './image-ref.ts';

export interface FieldError {
  /** Dotted field path, e.g. `spec.managers.count`, `spec.provider.ec2.subnetIds[1]`. */
  readonly path: string;
  /** What is wrong, naming the rule: "must be one of 1, 3, 5, 7 (odd, at most 7)". */
  readonly message: string;
}

export interface CrossFieldRule {
  readonly id: string;
  /** Schema path (dotted, no indices; `[]` for "each item") of the object the CEL rule sits on. */
  readonly crdPath: string;
  /** CEL expression over `self` (Kubernetes x-kubernetes-validations). */
  readonly cel: string;
  readonly message: string;
  check(doc: SwarmCluster): FieldError[];
}

/** Lists whose items are unique by a key: the CRD says so with x-kubernetes-list-type: map. */
export const LIST_MAP_FIELDS: ReadonlyArray<{ readonly crdPath: string; readonly key: string }> = [
  { crdPath: 'spec.managers.units', key: 'name' },
  { crdPath: 'spec.workers.units', key: 'name' },
  { crdPath: 'spec.managers.units[].dropIns', key: 'name' },
  { crdPath: 'spec.workers.units[].dropIns', key: 'name' },
];

const TAG_KEY_MAX = 127;

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  {
    id: 'rollout-can-progress',
    crdPath: 'spec.rollout',
    cel: '!(has(self.maxSurge) && has(self.maxUnavailable) && self.maxSurge == 0 && self.maxUnavailable == 0)',
    message: 'maxSurge and maxUnavailable cannot both be 0 (a rollout could never replace a node)',
    check(doc) {
      const r = doc.spec.rollout;
      if (r?.maxSurge === 0 && r.maxUnavailable === 0) {
        return [
          {
            path: 'spec.rollout.maxUnavailable',
            message: 'maxSurge and maxUnavailable cannot both be 0 (a rollout could never replace a node)',
          },
        ];
      }
      return [];
    },
  },
  {
    id: 'max-unhealthy-within-cluster',
    crdPath: 'spec',
    cel: '!has(self.healing) || !has(self.healing.maxUnhealthy) || type(self.healing.maxUnhealthy) == string || int(self.healing.maxUnhealthy) <= self.managers.count + self.workers.count',
    message: 'healing.maxUnhealthy as a count must be at most managers.count + workers.count; write a percent like "40%" for a share',
    check(doc) {
      const m = doc.spec.healing?.maxUnhealthy;
      const total = doc.spec.managers.count + doc.spec.workers.count;
      if (typeof m === 'number' && m > total) {
        return [
          {
            path: 'spec.healing.maxUnhealthy',
            message: `must be at most ${total} (managers.count + workers.count) when given as a count; write a percent like "40%" for a share`,
          },
        ];
      }
      return [];
    },
  },
  {
    id: 'ec2-tag-keys',
    crdPath: 'spec.provider.ec2.tags',
    cel: `self.all(k, size(k) >= 1 && size(k) <= ${TAG_KEY_MAX} && !k.startsWith('aws:'))`,
    message: `tag keys must be 1-${TAG_KEY_MAX} characters and must not start with "aws:"`,
    check(doc) {
      const tags = doc.spec.provider.ec2?.tags;
      if (!tags) return [];
      const errors: FieldError[] = [];
      for (const k of Object.keys(tags)) {
        const path = `spec.provider.ec2.tags${keySegment(k)}`;
        if (k.length < 1 || k.length > TAG_KEY_MAX)
          errors.push({ path, message: `tag key must be 1-${TAG_KEY_MAX} characters (is ${k.length})` });
        else if (k.startsWith('aws:')) errors.push({ path, message: 'tag keys starting with "aws:" are reserved by AWS' });
      }
      return errors;
    },
  },
  {
    id: 'backup-store-for-provider',
    crdPath: 'spec',
    cel: '!has(self.backup) || (has(self.backup.enabled) && !self.backup.enabled) || has(self.backup.store) || !has(self.provider.ec2)',
    message: 'backup.store is required with the ec2 provider (only the local provider has a default store)',
    check(doc) {
      const b = doc.spec.backup;
      if (!b || b.enabled === false || b.store || !doc.spec.provider.ec2) return [];
      return [
        {
          path: 'spec.backup.store',
          message: 'is required with the ec2 provider (only the local provider has a default store): give store.s3 or store.directory',
        },
      ];
    },
  },
  {
    id: 'backup-not-on-sim',
    crdPath: 'spec',
    cel: '!has(self.backup) || (has(self.backup.enabled) && !self.backup.enabled) || !has(self.provider.sim)',
    message: 'backups need a real etcd: the sim provider has none',
    check(doc) {
      const b = doc.spec.backup;
      if (!b || b.enabled === false || !doc.spec.provider.sim) return [];
      return [
        {
          path: 'spec.backup',
          message: 'backups need a real etcd to snapshot: the sim provider has none (set enabled: false or remove the block)',
        },
      ];
    },
  },
  ...(['managers', 'workers'] as const).map(enableNeedsInstallRule),
  {
    id: 'agent-image-pinned',
    crdPath: 'spec.provider.ec2.agentImage',
    cel: PINNED_IMAGE_CEL,
    message: PINNED_IMAGE_MESSAGE,
    check(doc) {
      const ref = doc.spec.provider.ec2?.agentImage;
      const problem = ref === undefined ? undefined : imageRefProblem(ref);
      return problem ? [{ path: 'spec.provider.ec2.agentImage', message: problem }] : [];
    },
  },
];

/** systemd cannot enable a unit file without an [Install] section (Ignition warns, the unit never starts). */
function enableNeedsInstallRule(role: 'managers' | 'workers'): CrossFieldRule {
  const message =
    'enable: true needs an [Install] section in content (e.g. WantedBy=multi-user.target); systemd cannot enable a unit without one';
  return {
    id: `${role}-unit-enable-needs-install`,
    crdPath: `spec.${role}.units[]`,
    cel: "!(has(self.enable) && self.enable && has(self.content) && !self.content.matches('(?m)^\\\\[Install\\\\][ \\\\t]*$'))",
    message,
    check(doc) {
      return (doc.spec[role].units ?? []).flatMap((u, i) =>
        u.enable === true && u.content !== undefined && !/^\[Install\][ \t]*$/m.test(u.content)
          ? [{ path: `spec.${role}.units[${i}].enable`, message }]
          : [],
      );
    },
  };
}

/** Duplicate keys in the list-map fields, as field errors. */
export function checkListMaps(doc: SwarmCluster): FieldError[] {
  const errors: FieldError[] = [];
  for (const role of ['managers', 'workers'] as const) {
    const units = doc.spec[role].units ?? [];
    errors.push(
      ...duplicates(
        units.map((u) => u.name),
        `spec.${role}.units`,
        'unit name',
      ),
    );
    units.forEach((u, i) => {
      errors.push(
        ...duplicates(
          (u.dropIns ?? []).map((d) => d.name),
          `spec.${role}.units[${i}].dropIns`,
          'drop-in name',
        ),
      );
    });
  }
  return errors;
}

function duplicates(names: string[], listPath: string, what: string): FieldError[] {
  const seen = new Map<string, number>();
  const errors: FieldError[] = [];
  names.forEach((n, i) => {
    const first = seen.get(n);
    if (first === undefined) seen.set(n, i);
    else
      errors.push({
        path: `${listPath}[${i}].name`,
        message: `duplicate ${what} "${n}" (already at ${listPath}[${first}]): names must be unique`,
      });
  });
  return errors;
}

/** `.key` for identifier-like keys, `["key"]` otherwise (labels like app.kubernetes.io/name). */
export function keySegment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
