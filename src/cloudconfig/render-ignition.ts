// Ignition config spec 3.3.0 (JSON), Flatcar's recommended user-data. Files travel as
// base64 data URLs; units as systemd.units with dropins. Ignition has no "start now":
// an enabled unit starts at boot through its [Install] section, which it does on the
// first boot Ignition configures.
import type { NodeFiles } from './node-model.ts';

export const IGNITION_VERSION = '3.3.0';

export function renderIgnition(node: NodeFiles): string {
  const config = {
    ignition: { version: IGNITION_VERSION },
    storage: {
      files: node.files.map((f) => ({
        path: f.path,
        mode: f.mode,
        overwrite: true,
        contents: { source: `data:;base64,${Buffer.from(f.contents, 'utf8').toString('base64')}` },
      })),
    },
    systemd: {
      units: node.units.map((u) => ({
        name: u.name,
        ...(u.mask ? { mask: true } : {}),
        ...(u.contents !== undefined ? { enabled: u.enable || u.start, contents: u.contents } : {}),
        ...(u.dropIns.length > 0 ? { dropins: u.dropIns.map((d) => ({ name: d.name, contents: d.contents })) } : {}),
      })),
    },
  };
  return `${JSON.stringify(config)}\n`;
}
