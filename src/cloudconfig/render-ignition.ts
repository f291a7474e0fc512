// Ignition config spec 3.3.0 (JSON), Flatcar's recommended user-data. Files travel as
// base64 data URLs; units as systemd.units with dropins. Ignition has no "start now":
// an enabled unit starts at boot through its [Install] section, which it does on the
// first boot Ignition configures. So `start` and `restart` mean enabled, `stop` means
// not enabled (Ignition writes a preset that disables it), and a unit to start whose
// content has no [Install] section cannot be honoured: refused, not silently dropped.
import { SwarmkeeperError } from '../errors.ts';
import { hasInstallSection, type NodeFiles, type NodeUnit } from './node-model.ts';

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
      units: node.units.map((u) => {
        const enabled = enabledAtBoot(u, node.role);
        return {
          name: u.name,
          ...(u.mask ? { mask: true } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
          ...(u.contents !== undefined ? { contents: u.contents } : {}),
          ...(u.dropIns.length > 0 ? { dropins: u.dropIns.map((d) => ({ name: d.name, contents: d.contents })) } : {}),
        };
      }),
    },
  };
  return `${JSON.stringify(config)}\n`;
}

/** Ignition's `enabled`: undefined leaves the unit's own state alone (a drop-in only). */
function enabledAtBoot(u: NodeUnit, role: NodeFiles['role']): boolean | undefined {
  if (u.mask) return undefined;
  if (u.command === 'stop') return false;
  const wanted = u.enable || u.command === 'start' || u.command === 'restart';
  if (u.contents === undefined) return wanted ? true : undefined;
  if (wanted && !hasInstallSection(u.contents)) {
    throw new SwarmkeeperError(
      'SpecInvalid',
      `unit ${u.name}: command ${u.command ?? 'start'} cannot be honoured in Ignition user-data without an [Install] section (Ignition starts a unit at boot only by enabling it); add one, e.g. WantedBy=multi-user.target`,
      { details: { field: `spec.${role}s.units` } },
    );
  }
  return wanted;
}
