// A busybox image made on this machine, without pulling anything: Debian
// `busybox-static`'s /bin/busybox and one symlink per applet, as a single layer, pushed
// to a registry through the distribution API (blob uploads, then the manifest) — what
// `docker import` followed by `docker push` produces, without needing a dockerd before
// the cluster exists. The layer is built with fixed owners and times, so the same
// busybox gives the same digest.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SwarmkeeperError, wrapError } from '../errors.ts';

export const BUSYBOX_BINARY = '/bin/busybox';
export const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface PushedImage {
  /** host:port/repo:tag, what a service names. */
  readonly reference: string;
  /** sha256:... of the manifest. */
  readonly digest: string;
}

export interface PushBusyboxOptions {
  /** http://address:port of the registry. */
  readonly registryUrl: string;
  readonly repository?: string;
  readonly tag?: string;
  readonly busybox?: string;
}

/** Builds the image and pushes it; returns its reference (host:port/busybox:local). */
export async function pushBusyboxImage(opts: PushBusyboxOptions): Promise<PushedImage> {
  const busybox = opts.busybox ?? BUSYBOX_BINARY;
  assertStaticBusybox(busybox);
  const repository = opts.repository ?? 'busybox';
  const tag = opts.tag ?? 'local';
  const layerTar = busyboxLayerTar(busybox);
  const layer = gzipSync(layerTar, { level: 6 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
      history: [{ created_by: `swarmkeeper: ${busybox} and its applet links` }],
    }),
  );
  const base = `${opts.registryUrl}/v2/${repository}`;
  try {
    await uploadBlob(base, layer);
    await uploadBlob(base, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_V2,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
      }),
    );
    const res = await fetch(`${base}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': MANIFEST_V2 }, body: manifest });
    await expectStatus(res, 201, `putting the manifest of ${repository}:${tag}`);
    const host = new URL(opts.registryUrl).host;
    return { reference: `${host}/${repository}:${tag}`, digest: sha256(manifest) };
  } catch (err) {
    throw wrapError(`pushing the busybox image to ${opts.registryUrl}`, err);
  }
}

/** A tar of bin/busybox, bin/<applet> -> busybox, and an empty tmp/, owned by root, mtime 0. */
export function busyboxLayerTar(busybox: string): Buffer {
  const root = mkdtempSync(join(tmpdir(), 'sk-busybox-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
      .split('\n')
      .filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    for (const applet of applets) symlinkSync('busybox', join(root, 'bin', applet));
    // GNU tar (Debian essential) with deterministic metadata.
    return execFileSync(
      'tar',
      ['-C', root, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', 'bin', 'tmp'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * A scratch image has no libc: only a statically linked busybox runs in it. The dynamic
 * one (Debian `busybox`) would start no container, so refuse it here with what to do.
 */
export function assertStaticBusybox(path: string): void {
  const head = readHead(path);
  if (!head) throw new SwarmkeeperError('Unavailable', `${path} was not found: install it with \`apt-get install busybox-static\``);
  if (hasInterpreter(head)) {
    throw new SwarmkeeperError(
      'Unavailable',
      `${path} is dynamically linked and cannot run in an image without libc: install \`busybox-static\` (apt-get install busybox-static)`,
    );
  }
}

/** Whether the static busybox the image needs is here (the demo skips its service without it). */
export function canBuildBusyboxImage(path: string = BUSYBOX_BINARY): boolean {
  const head = readHead(path);
  return head !== undefined && !hasInterpreter(head);
}

/** The first 4 KiB (ELF and program headers), or undefined when unreadable. */
function readHead(path: string): Buffer | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(4096);
      return head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Whether a 64-bit little-endian ELF has a PT_INTERP program header (it is dynamically linked). */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return true;
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > elf.length) return true;
    if (elf.readUInt32LE(at) === 3) return true;
  }
  return false;
}

async function uploadBlob(base: string, blob: Buffer): Promise<void> {
  const digest = sha256(blob);
  const head = await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return;
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(start, 202, 'starting a blob upload');
  const location = start.headers.get('location');
  if (!location) throw new SwarmkeeperError('Unavailable', 'the registry started an upload without a Location');
  const target = new URL(location, base);
  target.searchParams.set('digest', digest);
  const put = await fetch(target, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: blob });
  await expectStatus(put, 201, `uploading blob ${digest}`);
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  if (res.status === status) {
    await res.body?.cancel();
    return;
  }
  const body = await res.text().catch(() => '');
  throw new SwarmkeeperError('Unavailable', `${what}: HTTP ${res.status} ${body.slice(0, 300)}`);
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
