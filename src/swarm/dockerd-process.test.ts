import { describe, expect, it } from 'vitest';
import { isSwarmkeeperError } from '../errors.ts';
import { dockerdPaths, MAX_NODE_DIR_LENGTH, mountsUnder, startDockerd } from './dockerd-process.ts';

const MOUNTS = [
  '/dev/vda / ext4 rw 0 0',
  '/dev/vda /tmp/sk-a/data ext4 rw 0 0',
  'nsfs /tmp/sk-a/x/netns/ingress_sbox nsfs rw 0 0',
  'nsfs /tmp/sk-a/x/netns/1-abc nsfs rw 0 0',
  'overlay /tmp/sk-a/data/overlay2/l/merged overlay rw 0 0',
  '/dev/vda /tmp/sk-ab/data ext4 rw 0 0',
  '/dev/vda /tmp/sk-a/with\\040space ext4 rw 0 0',
  '',
].join('\n');

describe('mountsUnder', () => {
  it('lists only mounts under the directory, deepest first', () => {
    const points = mountsUnder('/tmp/sk-a', MOUNTS);
    expect(points).not.toContain('/tmp/sk-ab/data');
    expect(points).not.toContain('/');
    expect(points[0]).toBe('/tmp/sk-a/data/overlay2/l/merged');
    expect(points.indexOf('/tmp/sk-a/data')).toBeGreaterThan(points.indexOf('/tmp/sk-a/data/overlay2/l/merged'));
    expect(points).toHaveLength(5);
  });
  it('decodes octal escapes of /proc/mounts', () => {
    expect(mountsUnder('/tmp/sk-a', MOUNTS)).toContain('/tmp/sk-a/with space');
  });
});

describe('startDockerd input checks', () => {
  it('refuses a directory too long for unix socket paths', async () => {
    const dir = `/tmp/${'d'.repeat(MAX_NODE_DIR_LENGTH)}`;
    await expect(startDockerd({ address: '127.30.0.2', dir, instanceId: 'i-1' })).rejects.toSatisfy(
      (e: unknown) => isSwarmkeeperError(e, 'Usage') && e.message.includes('108-byte'),
    );
  });
  it('refuses an address outside loopback', async () => {
    await expect(startDockerd({ address: '10.0.0.1', dir: '/tmp/sk-x', instanceId: 'i-1' })).rejects.toSatisfy(
      (e: unknown) => isSwarmkeeperError(e, 'Usage') && e.message.includes('10.0.0.1'),
    );
  });
  it('keeps every socket dockerd makes under the 108-byte limit for the longest accepted dir', () => {
    const p = dockerdPaths(`/${'d'.repeat(MAX_NODE_DIR_LENGTH - 1)}`);
    for (const sock of [
      p.socketPath,
      `${p.execRoot}/containerd/containerd.sock.ttrpc`,
      `${p.execRoot}/containerd/containerd-debug.sock`,
      `${p.dataRoot}/swarm/control.sock`,
    ]) {
      expect(Buffer.byteLength(sock)).toBeLessThan(108);
    }
  });
});
