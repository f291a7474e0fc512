// `#cloud-config` for coreos-cloudinit (Flatcar still reads it): write_files for the
// one-time token, coreos.units for every unit and drop-in.
import { stringify } from 'yaml';
import type { NodeFiles } from './node-model.ts';

export const CLOUD_CONFIG_HEADER = '#cloud-config';

export function renderCloudConfig(node: NodeFiles): string {
  const writeFiles = node.files.map((f) => ({
    path: f.path,
    permissions: `0${f.mode.toString(8)}`,
    owner: 'root',
    content: f.contents,
  }));
  const doc = {
    ...(writeFiles.length > 0 ? { write_files: writeFiles } : {}),
    coreos: {
      units: node.units.map((u) => ({
        name: u.name,
        ...(u.mask ? { mask: true } : {}),
        ...(u.enable && u.contents !== undefined ? { enable: true } : {}),
        ...(u.command ? { command: u.command } : {}),
        ...(u.contents !== undefined ? { content: u.contents } : {}),
        ...(u.dropIns.length > 0 ? { 'drop-ins': u.dropIns.map((d) => ({ name: d.name, content: d.contents })) } : {}),
      })),
    },
  };
  // lineWidth 0: never fold long ExecStart lines (folding would still parse, but
  // reviewing the rendered file should show the unit exactly as systemd gets it).
  return `${CLOUD_CONFIG_HEADER}\n${stringify(doc, { lineWidth: 0 })}`;
}
