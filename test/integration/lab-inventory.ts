import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labFiles } from '../lab/lab.js';

export interface LabHostSpec {
  name: string;
  ip: string;
  user?: string;
  become?: boolean;
  groups?: string[];
  vars?: string;
}

/** A scratch inventory for lab hosts, using the lab's client key and (unless given) its known_hosts. */
export function labInventory(hosts: LabHostSpec[], options: { knownHosts?: string; checking?: string; extra?: string } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-inv-'));
  const known = path.join(dir, 'known_hosts');
  if (options.knownHosts === undefined) copyFileSync(labFiles().knownHosts, known);
  else writeFileSync(known, options.knownHosts);
  const groups = new Map<string, string[]>();
  const tables = hosts.map((h) => {
    for (const g of h.groups ?? []) groups.set(g, [...(groups.get(g) ?? []), h.name]);
    return [
      `[hosts.${h.name}]`,
      `address = "${h.ip}"`,
      ...(h.user ? [`user = "${h.user}"`] : []),
      ...(h.become !== undefined ? [`become = ${h.become}`] : []),
      ...(h.vars ? [`vars = ${h.vars}`] : []),
      '',
    ].join('\n');
  });
  const groupTables = [...groups].map(([g, names]) => `[groups.${g}]\nhosts = ${JSON.stringify(names)}\n`);
  writeFileSync(
    path.join(dir, 'hosts.toml'),
    [
      '[defaults]',
      'user = "root"',
      `identity_file = ${JSON.stringify(labFiles().identity)}`,
      `known_hosts = "known_hosts"`,
      `host_key_checking = "${options.checking ?? 'strict'}"`,
      '',
      options.extra ?? '',
      ...tables,
      ...groupTables,
    ].join('\n'),
  );
  return dir;
}
