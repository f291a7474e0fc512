// The controller's backups on real processes (local provider: dockerd, etcd, node agents):
// a scheduled backup once the cluster is up, then an etcd snapshot of the current
// membership before EVERY manager membership step of a 1 -> 3 scale-up (the journal shows
// a backup.create done between each membership step and the one before it); then, with the store broken, a 3 -> 1 scale-down is
// held (R15-backup-before-change, in status) until the explicit override lets it go on.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/backup/backup-catalog.ts';
import { DirectoryStore } from '../../src/backup/directory-store.ts';
import { MEMBERSHIP_STEP_KINDS, type StepKind } from '../../src/plan/steps.ts';
import { startControllerHarness, type ControllerHarness } from '../support/controller-harness.ts';

const NAME = 'bk';
let h: ControllerHarness;

beforeAll(async () => {
  h = await startControllerHarness({ block: 217 });
  await h.startController('c1');
}, 120_000);

afterAll(async () => {
  await h?.stop();
}, 180_000);

const backupDir = (): string => join(h.baseDir, 'backups');

describe('controller backups', () => {
  it('takes a scheduled backup, then a pre-change snapshot before every membership step of a scale-up', async () => {
    await h.apply(NAME, 1, 0, { backup: { intervalSeconds: 3600, retention: { count: 20 } } });
    await h.waitConverged(NAME, 1, 0, 120_000);
    const first = await h.waitFor('a scheduled backup in status', async () => (await h.status(NAME))?.backup?.lastBackup, 60_000);
    expect(first.name).toMatch(/^bk-\d{8}t\d{9}z-scheduled$/);
    expect(first.sizeBytes).toBeGreaterThan(0);

    await h.apply(NAME, 3, 0, { backup: { intervalSeconds: 3600, retention: { count: 20 } } });
    await h.waitConverged(NAME, 3, 0, 240_000);
    const journal = (await h.journalOf(NAME)).sort((a, b) => a.startedAt - b.startedAt);
    const membership = journal.filter((e) => e.state === 'done' && MEMBERSHIP_STEP_KINDS.has(e.stepKind as StepKind));
    // The two new managers' learner adds, promotes and swarm promotes (a step another
    // cycle's observation found done already is not journaled as done again).
    expect(membership.length).toBeGreaterThanOrEqual(4);
    let previous = 0;
    for (const op of membership) {
      // A scheduled backup of the same membership covers the change as well as a pre-change one.
      const covered = journal.some(
        (e) => e.stepKind === 'backup.create' && e.state === 'done' && e.startedAt >= previous && e.startedAt <= op.startedAt,
      );
      if (!covered)
        throw new Error(
          `no pre-change backup before ${op.stepKind} ${op.target}: ${journal.map((e) => `${e.startedAt} ${e.stepKind} ${e.target} ${e.state}`).join(' | ')}`,
        );
      previous = op.startedAt;
    }
    const { backups } = await listBackups(new DirectoryStore(backupDir()), NAME);
    expect(backups.length).toBeGreaterThanOrEqual(membership.length);
    expect(backups.filter((b) => b.swarm?.error !== undefined).map((b) => `${b.name}: ${b.swarm?.error}`)).toEqual([]);
  }, 420_000);

  it('a failing pre-change snapshot holds a scale-down, visibly, until the explicit override', async () => {
    // A store that cannot be written: its directory path runs through a regular file.
    const blocker = join(h.baseDir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const broken = { intervalSeconds: 3600, store: { directory: { path: join(blocker, 'backups') } } };
    await h.apply(NAME, 1, 0, { backup: broken });
    const hold = await h.waitFor(
      'the R15 hold in status',
      async () => (await h.status(NAME))?.holds?.find((x) => x.rule === 'R15-backup-before-change'),
      120_000,
    );
    expect(hold.reason).toBe('PreChangeBackupFailed');
    expect(hold.message).toMatch(/onPreChangeFailure: proceed/);
    expect((await h.status(NAME))?.backup?.lastFailure?.purpose).toBe('pre-change');
    // Held: no manager was demoted while the snapshot fails.
    expect((await h.status(NAME))?.nodes?.filter((n) => n.swarmRole === 'manager')).toHaveLength(3);

    await h.apply(NAME, 1, 0, { backup: { ...broken, onPreChangeFailure: 'proceed' } });
    await h.waitConverged(NAME, 1, 0, 240_000);
  }, 420_000);
});
