// Checks that rendered user-data is what a node can boot from: cloud-config parses as
// YAML with `#cloud-config` on its first line and has the coreos-cloudinit shape;
// Ignition matches the config spec's JSON schema (cloud-config/ignition-3.3.0.schema.json);
// both fit EC2's user-data limit.
//
// The limit: EC2 takes at most 16 KB of user-data "in raw form, before it is base64
// encoded" (EC2 user guide). The SDK base64-encodes UserData on the wire, so the raw
// rendering is what counts: we measure raw UTF-8 bytes against 16,384 and report the
// base64 size beside it for people comparing with the console.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { SwarmkeeperError } from '../errors.ts';
import { CLOUD_CONFIG_HEADER } from './render-cloud-config.ts';

export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface UserDataSize {
  readonly rawBytes: number;
  readonly base64Bytes: number;
}

export function userDataSize(text: string): UserDataSize {
  const raw = Buffer.byteLength(text, 'utf8');
  return { rawBytes: raw, base64Bytes: 4 * Math.ceil(raw / 3) };
}

export function checkUserDataSize(text: string, what: string): UserDataSize {
  const size = userDataSize(text);
  if (size.rawBytes > USER_DATA_LIMIT_BYTES) {
    throw new SwarmkeeperError(
      'SpecInvalid',
      `${what} is ${size.rawBytes} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit; shorten the extra units (move long scripts into images)`,
      { details: { field: 'spec.units', rawBytes: size.rawBytes } },
    );
  }
  return size;
}

/** Returns a list of problems (empty when valid). */
export function cloudConfigProblems(text: string): string[] {
  const problems: string[] = [];
  if (text.split('\n', 1)[0] !== CLOUD_CONFIG_HEADER) problems.push(`first line must be exactly "${CLOUD_CONFIG_HEADER}"`);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return [...problems, `not YAML: ${(err as Error).message}`];
  }
  if (typeof doc !== 'object' || doc === null) return [...problems, 'top level is not a mapping'];
  const d = doc as { coreos?: { units?: unknown }; write_files?: unknown };
  const units = d.coreos?.units;
  if (!Array.isArray(units)) problems.push('coreos.units is not a list');
  else {
    units.forEach((u: Record<string, unknown>, i) => {
      if (typeof u.name !== 'string') problems.push(`coreos.units[${i}].name missing`);
      if (
        u.command !== undefined &&
        !['start', 'stop', 'restart', 'reload', 'try-restart', 'reload-or-restart', 'reload-or-try-restart'].includes(String(u.command))
      ) {
        problems.push(`coreos.units[${i}].command ${String(u.command)} is not a systemctl verb`);
      }
      if (u.content !== undefined && !/^\[[A-Za-z]+\]/m.test(String(u.content)))
        problems.push(`coreos.units[${i}].content has no [Section]`);
    });
  }
  if (d.write_files !== undefined && !Array.isArray(d.write_files)) problems.push('write_files is not a list');
  for (const [i, f] of (Array.isArray(d.write_files) ? d.write_files : []).entries()) {
    const file = f as Record<string, unknown>;
    if (typeof file.path !== 'string' || !file.path.startsWith('/')) problems.push(`write_files[${i}].path must be absolute`);
    if (typeof file.permissions !== 'string' || !/^0[0-7]{3,4}$/.test(file.permissions))
      problems.push(`write_files[${i}].permissions must be an octal string`);
  }
  return problems;
}

let ignitionValidator: ReturnType<Ajv['compile']> | undefined;

export function ignitionProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return [`not JSON: ${(err as Error).message}`];
  }
  if (!ignitionValidator) {
    const schema = JSON.parse(readFileSync(new URL('../../cloud-config/ignition-3.3.0.schema.json', import.meta.url), 'utf8')) as object;
    ignitionValidator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (ignitionValidator(doc)) return [];
  return (ignitionValidator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
