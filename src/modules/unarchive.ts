/**
 * `unarchive`: unpacks a local zip or tar.gz into a directory on the host, once per archive.
 *
 * Options:
 * - `src` (required): the local archive (.zip, .tar.gz, .tgz; told apart by content, not name),
 *   relative to the playbook's directory, then its parent, then the current directory; or absolute.
 * - `dest` (required): the directory the archive's content goes into (absolute). A zip holding
 *   `wso2is-5.10.0/…` unpacked into `/opt/wso2/node1` gives `/opt/wso2/node1/wso2is-5.10.0/…`.
 * - `creates`: skip when this path exists (to adopt an install made by other means).
 * - `owner`, `group`: chown everything unpacked (recursively); default root (or the login user).
 * - `stripComponents`: drop this many leading path components (default 0). The members must share
 *   them (one top directory): merging several is refused.
 * - `beforeReplace`: a command (a string for `sh -c`, or an argv array) run just before an existing
 *   dest is moved aside for a new archive, such as stopping the program that runs from it; a failure
 *   stops the task with dest untouched.
 *
 * `dest` records what it holds in a marker, `<dest>/.is-provision-unarchive.json` (archive name,
 * sha256, size): the same sha256 is ok, anything else unpacks afresh. The archive is uploaded once
 * per host into a cache (`/var/cache/is-provision/<sha256>.<ext>`, or `~/.cache/is-provision` for a
 * login without root) and verified there; a cached copy is reused. Unpacking goes into
 * `<dest>.staging-<sha256 prefix>` beside dest, so the final move is a rename on one filesystem. An
 * existing dest keeps its own mode and owner (unless owner/group are given); when empty (made by a
 * file task) it is simply replaced, else it moves to `<dest>.previous`: one generation is kept, so
 * the node's own data (its H2 databases, say) stays recoverable, and config edits are re-applied by
 * later tasks. The marker is written last, so an interrupted run never leaves a dest that a re-run
 * takes as done; staging left by an interrupted run is removed by the next run. The marker is
 * trusted: files changed inside dest later are not compared. Zips need `unzip` on the host; a
 * missing unzip, a dest that is not a directory, or too little free space fail before any upload.
 *
 * In a dry-run the archive's members are planned as effects: later tasks see its files (and the
 * content of its small text files, so a later edit of a config file shows its real diff).
 *
 * @example
 * unarchive({ src: 'packs/wso2is-5.10.0.zip', dest: '/opt/wso2/node1', owner: 'wso2', group: 'wso2' })
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileFact } from '../facts/file.js';
import type { FactCall } from '../facts/define.js';
import type { Effect } from '../facts/effects.js';
import { markerPath, unarchiveStateFact, MARKER_NAME, type UnarchiveMarker, type UnarchiveState } from '../facts/unarchive.js';
import { readArchive, stripComponents, type ArchiveEntry, type ArchiveFormat } from './archive-reader.js';
import type { FileFact } from '../facts/file.js';
import { buildTask } from '../playbook/define.js';
import { PlaybookError } from '../playbook/errors.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { join, raw, sh, type Shell } from '../shell/quote.js';
import { change, noop, TaskFailure, type Decision, type Step } from './decision.js';
import { commandShell } from './command.js';
import { defineModule, type DecideContext } from './define.js';
import { sha256 } from './file-commands.js';

export interface UnarchiveOptions {
  src: string;
  dest: string;
  creates?: string;
  owner?: string;
  group?: string;
  stripComponents?: number;
  beforeReplace?: string | string[];
}

/** What unarchive plans with: the archive read on the control machine. */
export interface UnarchivePlan {
  /** Absolute local path. */
  src: string;
  /** The archive's file name, for reasons and the marker. */
  name: string;
  dest: string;
  format: ArchiveFormat;
  sha256: string;
  size: number;
  /** The members as they land under dest (after stripComponents). */
  entries: readonly ArchiveEntry[];
  /** The sum of the members' sizes. */
  unpackedSize: number;
  stripComponents: number;
  /** The stripped leading directory, moved into place as dest. */
  prefix?: string;
  creates?: string;
  owner?: string;
  group?: string;
  beforeReplace?: string | string[];
}

const SCHEMA: OptionsSchema = {
  src: { type: 'string', required: true },
  dest: { type: 'string', required: true },
  creates: { type: 'string' },
  owner: { type: 'string' },
  group: { type: 'string' },
  stripComponents: { type: 'number' },
  beforeReplace: { type: 'string-or-strings' },
};

export const SYSTEM_CACHE = '/var/cache/is-provision';

const short = (hash: string): string => hash.slice(0, 12);
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;

async function locate(src: string, context: { resolveLocal(p: string): string }): Promise<string | undefined> {
  // A cluster inventory names its pack relative to where the command runs, playbooks relative to themselves.
  for (const candidate of [context.resolveLocal(src), path.resolve(src)]) {
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  return undefined;
}

/** Where the archive is cached on the host, and where the login user may upload it. */
interface Layout {
  root: boolean;
  cacheDir?: string;
  cacheName: string;
  cache: Shell;
  incoming: Shell;
  /** For the SFTP upload: absolute, or relative to the login user's home. */
  uploadTo: string;
}

function layout(plan: UnarchivePlan, context: DecideContext): Layout {
  const root = context.become || context.loginUser === 'root';
  const cacheName = `${plan.sha256}.${plan.format === 'zip' ? 'zip' : 'tar.gz'}`;
  if (!root) {
    return {
      root,
      cacheName,
      cache: raw('cache="$HOME/.cache/is-provision"'),
      incoming: raw('incoming="$HOME/.cache/is-provision/incoming"'),
      uploadTo: `.cache/is-provision/incoming/${cacheName}.part`,
    };
  }
  // The login user uploads (sudo does not reach SFTP) into its own directory inside root's cache:
  // not in /tmp, where another user could plant a link before root chowns it.
  const incoming = `${SYSTEM_CACHE}/incoming-${context.loginUser.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  return { root, cacheDir: SYSTEM_CACHE, cacheName, cache: sh`cache=${SYSTEM_CACHE}`, incoming: sh`incoming=${incoming}`, uploadTo: `${incoming}/${cacheName}.part` };
}

function ownerSpec(plan: UnarchivePlan): string | undefined {
  if (plan.owner && plan.group) return `${plan.owner}:${plan.group}`;
  return plan.owner ?? (plan.group ? `:${plan.group}` : undefined);
}

export function markerContent(plan: UnarchivePlan): Buffer {
  const marker: UnarchiveMarker = { archive: plan.name, sha256: plan.sha256, size: plan.size, stripComponents: plan.stripComponents };
  return Buffer.from(JSON.stringify(marker) + '\n');
}

function uploadSteps(plan: UnarchivePlan, l: Layout, loginUser: string): Step[] {
  const part = `${l.cacheName}.part`;
  const prepareIncoming = join(
    [
      raw('set -e'),
      l.cache,
      l.incoming,
      raw('mkdir -p -- "$cache" "$incoming"'),
      // Whatever root's umask: the login user must reach its incoming directory through the cache.
      ...(l.root ? [raw('chmod 0755 -- "$cache"')] : []),
      raw('chmod 0700 -- "$incoming"'),
      ...(l.root && loginUser !== 'root' ? [sh`chown -- ${loginUser} "$incoming"`] : []),
      sh`rm -f -- "$incoming"/${part}`,
    ],
    '\n',
  );
  // Moved out of the login user's directory before it is checked, so what is checked stays what is used.
  const verify = join(
    [
      raw('set -e'),
      l.cache,
      l.incoming,
      sh`f="$cache"/${`.${l.cacheName}.verify`}`,
      sh`mv -f -- "$incoming"/${part} "$f"`,
      // chown and chmod follow links: what the login user left there must be a plain file of its own.
      raw(`if [ -L "$f" ] || [ ! -f "$f" ] || [ "$(stat -c %h -- "$f")" != 1 ]; then rm -f -- "$f"; echo "the upload is not a plain file" >&2; exit 1; fi`),
      ...(l.root ? [raw('chown 0:0 "$f"')] : []),
      raw('chmod 0644 "$f"'),
      raw(`actual=$(sha256sum < "$f" | cut -d' ' -f1)`),
      sh`if [ "$actual" != ${plan.sha256} ]; then rm -f -- "$f"; echo ${`uploaded ${plan.name} is corrupt: sha256`} "$actual, expected" ${plan.sha256} >&2; exit 1; fi`,
      sh`mv -f -- "$f" "$cache"/${l.cacheName}`,
    ],
    '\n',
  );
  return [
    { kind: 'exec', command: prepareIncoming, label: `make room for ${plan.name}` },
    { kind: 'upload', from: plan.src, to: l.uploadTo, mode: '0600', label: `upload ${plan.name}` },
    { kind: 'exec', command: verify, label: `verify ${plan.name}` },
  ];
}

function installSteps(plan: UnarchivePlan, l: Layout): Step[] {
  const spec = ownerSpec(plan);
  const head = [raw('set -e'), sh`dest=${plan.dest}`, sh`staging="$dest".staging-${short(plan.sha256)}`];
  const top = plan.prefix === undefined ? raw('top="$staging"') : sh`top="$staging"/${plan.prefix}`;
  const archive = sh`"$cache"/${l.cacheName}`;
  const unpack = join(
    [
      ...head,
      l.cache,
      raw('rm -rf -- "$dest".staging-*'),
      raw('mkdir -p -- "$(dirname -- "$dest")"'),
      raw('mkdir -m 0700 -- "$staging"'),
      plan.format === 'zip' ? sh`unzip -q -o ${archive} -d "$staging" < /dev/null` : sh`tar -xzf ${archive} -C "$staging" --no-same-owner`,
      top,
      ...(plan.prefix === undefined ? [raw('chmod 0755 "$top"')] : []),
      ...(spec ? [sh`chown -R -- ${spec} "$top"`] : []),
    ],
    '\n',
  );
  const install = join(
    [
      ...head,
      top,
      // An existing dest keeps its own mode and owner (a file task may have set them); an empty one is
      // simply replaced, anything else kept one generation back.
      raw('if [ -e "$dest" ] || [ -L "$dest" ]; then'),
      raw(`  chmod --reference="$dest" "$top"${l.root ? '' : ' || :'}`),
      ...(spec ? [] : [raw(`  chown --reference="$dest" "$top"${l.root ? '' : ' 2>/dev/null || :'}`)]),
      raw('  if [ -d "$dest" ] && [ ! -L "$dest" ] && [ -z "$(ls -A -- "$dest")" ]; then rmdir -- "$dest"'),
      raw('  else'),
      ...(plan.beforeReplace ? [sh`    ( ${commandShell(plan.beforeReplace)}
    ) < /dev/null`] : []),
      raw('    rm -rf -- "$dest".previous; mv -- "$dest" "$dest".previous'),
      raw('  fi'),
      raw('fi'),
      raw('mv -T -- "$top" "$dest"'),
      ...(plan.prefix === undefined ? [] : [raw('rm -rf -- "$staging"')]),
      sh`m="$dest"/${MARKER_NAME}`,
      sh`printf '%s\\n' ${markerContent(plan).toString('utf8').trimEnd()} > "$m".tmp`,
      raw('chmod 0644 "$m".tmp'),
      ...(spec ? [sh`chown -- ${spec} "$m".tmp`] : []),
      raw('mv -f -- "$m".tmp "$m"'),
    ],
    '\n',
  );
  return [
    { kind: 'exec', command: unpack, label: `unpack ${plan.name}` },
    { kind: 'exec', command: install, label: `move into ${plan.dest}` },
  ];
}

/** What the apply leaves under dest: its members, with the content of small text files, and the marker. */
export function unarchiveEffects(plan: UnarchivePlan, l: Layout, loginUser: string, existing: UnarchiveState): Effect[] {
  const owner = plan.owner ?? (l.root ? 'root' : loginUser);
  const group = plan.group ?? (l.root ? 'root' : undefined);
  const who = { owner, ...(group ? { group } : {}) };
  const under = (p: string): string => `${plan.dest}/${p}`;
  const kept = existing.dest === 'directory';
  // Without a stripped top directory, dest is the staging directory, made 0755; with one, the archive's.
  const topMode = kept ? existing.mode : plan.prefix === undefined ? '0755' : undefined;
  const topWho = kept && !plan.owner && !plan.group ? { ...(existing.owner ? { owner: existing.owner } : {}), ...(existing.group ? { group: existing.group } : {}) } : who;
  // Clears what earlier tasks planned inside the old dest: none of it survives the move.
  const effects: Effect[] = [
    { kind: 'path', path: plan.dest, state: 'absent' },
    { kind: 'path', path: plan.dest, state: 'directory', fresh: true, ...(topMode ? { mode: topMode } : {}), ...topWho },
  ];
  const listed = new Set(plan.entries.map((e) => e.path));
  const implicit = new Set<string>();
  for (const entry of plan.entries) {
    for (let i = entry.path.lastIndexOf('/'); i > 0; i = entry.path.lastIndexOf('/', i - 1)) {
      const parent = entry.path.slice(0, i);
      if (!listed.has(parent)) implicit.add(parent);
    }
  }
  for (const dir of implicit) effects.push({ kind: 'path', path: under(dir), state: 'directory', fresh: true, ...who });
  for (const e of plan.entries) {
    const mode = e.mode ? { mode: e.mode } : {};
    if (e.type === 'directory') effects.push({ kind: 'path', path: under(e.path), state: 'directory', fresh: true, ...mode, ...who });
    else if (e.type === 'file') {
      const bytes = e.content ? { content: e.content, sha256: sha256(e.content) } : {};
      effects.push({ kind: 'path', path: under(e.path), state: 'file', size: e.size, ...bytes, ...mode, ...who });
    } else effects.push({ kind: 'path', path: under(e.path), state: 'exists' });
  }
  const marker = markerContent(plan);
  effects.push({ kind: 'path', path: markerPath(plan.dest), state: 'file', content: marker, sha256: sha256(marker), mode: '0644', ...who });
  if (l.cacheDir) effects.push({ kind: 'path', path: `${l.cacheDir}/${l.cacheName}`, state: 'file', sha256: plan.sha256, size: plan.size, mode: '0644' });
  return effects;
}

type Facts = { state: FactCall<UnarchiveState>; creates?: FactCall<FileFact> };

export function decideUnarchive(plan: UnarchivePlan, facts: { state: UnarchiveState; creates?: FileFact }, context: DecideContext): Decision {
  const { dest, name } = plan;
  if (facts.creates && facts.creates.type !== 'absent') return noop(`${plan.creates} exists${facts.creates.planned ? ` (made by ${facts.creates.planned})` : ''}`);
  const s = facts.state;
  if (s.dest === 'other') throw new TaskFailure(`${dest} exists and is not a directory`);
  const l = layout(plan, context);
  const planned = s.planned ? ` (as ${s.planned} leaves it)` : '';
  const leftovers = s.staging > 0 ? `${s.staging} staging director${s.staging === 1 ? 'y' : 'ies'} left by an interrupted run` : '';
  const holds = s.dest === 'directory' && s.marker?.sha256 === plan.sha256 && s.marker.stripComponents === plan.stripComponents;
  if (holds) {
    const steps: Step[] = [];
    const why: string[] = [];
    if ((plan.owner && s.owner !== plan.owner) || (plan.group && s.group !== plan.group)) {
      steps.push({ kind: 'exec', command: sh`chown -R -- ${ownerSpec(plan)!} ${dest}`, label: `chown ${dest}` });
      why.push(`is owned by ${s.owner ?? '?'}:${s.group ?? '?'}, not ${plan.owner ?? s.owner}:${plan.group ?? s.group}`);
    }
    if (leftovers) {
      steps.push({ kind: 'exec', command: sh`rm -rf -- ${dest}${raw('.staging-*')}` });
      why.push(`has ${leftovers} beside it, to remove`);
    }
    const holding = `${dest} holds ${name} (sha256 ${short(plan.sha256)})${planned}`;
    if (steps.length === 0) return noop(holding);
    const effects: Effect[] = plan.owner || plan.group ? [{ kind: 'path', path: dest, state: 'directory', ...(plan.owner ? { owner: plan.owner } : {}), ...(plan.group ? { group: plan.group } : {}) }] : [];
    return change(`${holding} but ${why.join(' and ')}`, steps, { effects });
  }
  if (plan.format === 'zip' && !s.unzip) throw new TaskFailure(`unzip is not installed on ${context.host.name}: install the package unzip first`);
  if (s.availKiB !== undefined && s.availKiB * 1024 < plan.unpackedSize) {
    throw new TaskFailure(`not enough space for ${dest}: ${name} unpacks to ${mb(plan.unpackedSize)}, ${mb(s.availKiB * 1024)} free`);
  }
  const archive = `${name} (sha256 ${short(plan.sha256)}, ${plan.entries.length} entries, ${mb(plan.unpackedSize)})`;
  const what =
    s.dest === 'absent'
      ? `${dest} would be unpacked from ${archive}`
      : s.empty
        ? `${dest} is empty; ${archive} would be unpacked into it`
        : s.marker
        ? `${dest} holds ${s.marker.archive} (sha256 ${short(s.marker.sha256)}${s.marker.stripComponents !== plan.stripComponents ? `, stripComponents ${s.marker.stripComponents}` : ''}), not ${archive}; the old content would move to ${dest}.previous`
        : `${dest} exists without an unarchive marker; ${archive} would be unpacked and the old content moved to ${dest}.previous`;
  const cached = s.cache === 'match';
  const transfer = cached ? `; ${name} is cached on the host` : `; upload ${mb(plan.size)}${s.cache === 'mismatch' ? ' (the cached copy is damaged)' : ''}`;
  const steps = [...(cached ? [] : uploadSteps(plan, l, context.loginUser)), ...installSteps(plan, l)];
  return change(`${what}${transfer}${leftovers ? `; removes ${leftovers}` : ''}${planned}`, steps, {
    effects: unarchiveEffects(plan, l, context.loginUser, s),
  });
}

export const unarchiveModule = defineModule<UnarchiveOptions, UnarchivePlan, Facts>({
  name: 'unarchive',
  schema: SCHEMA,
  describe: (o) => `unarchive ${path.basename(o.src)} → ${o.dest}`,
  async prepare(o, context) {
    const src = await locate(o.src, context);
    if (src === undefined) throw new PlaybookError(`unarchive: cannot read local archive ${context.resolveLocal(o.src)}: no such file`, context.origin);
    let listing;
    let stripped;
    try {
      listing = await readArchive(src);
      stripped = stripComponents(listing.entries, o.stripComponents ?? 0);
    } catch (error) {
      throw new PlaybookError(`unarchive: ${src}: ${(error as Error).message}`, context.origin);
    }
    const dest = path.posix.normalize(o.dest).replace(/(.)\/+$/, '$1');
    return {
      src,
      name: path.basename(src),
      dest,
      format: listing.format,
      sha256: listing.sha256,
      size: listing.size,
      entries: stripped.entries,
      unpackedSize: stripped.entries.reduce((n, e) => n + e.size, 0),
      stripComponents: o.stripComponents ?? 0,
      ...(stripped.prefix !== undefined ? { prefix: stripped.prefix } : {}),
      ...(o.creates ? { creates: o.creates } : {}),
      ...(o.owner ? { owner: o.owner } : {}),
      ...(o.group ? { group: o.group } : {}),
      ...(o.beforeReplace ? { beforeReplace: o.beforeReplace } : {}),
    };
  },
  facts: (plan, context) => {
    const l = layout(plan, context);
    return {
      state: unarchiveStateFact({ dest: plan.dest, sha256: plan.sha256, size: plan.size, cacheName: l.cacheName, ...(l.cacheDir ? { cacheDir: l.cacheDir } : {}) }),
      ...(plan.creates ? { creates: fileFact({ path: plan.creates, maxContent: 0 }) } : {}),
    };
  },
  decide: (plan, facts, context) => decideUnarchive(plan, facts, context),
});

function check(o: UnarchiveOptions): string | undefined {
  const dest = path.posix.normalize(o.dest);
  if (!o.dest.startsWith('/') || dest === '/') return `dest must be an absolute directory other than "/", not ${JSON.stringify(o.dest)}`;
  if (o.creates !== undefined && !o.creates.startsWith('/')) return `creates must be an absolute path, not ${JSON.stringify(o.creates)}`;
  const n = o.stripComponents;
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) return 'stripComponents must be a whole number (0 or more)';
  return undefined;
}

/** Unpacks a local archive into a directory on the host. See the module's TSDoc above. */
export function unarchive(options: UnarchiveOptions & CommonOptions): Task<UnarchiveOptions> {
  return buildTask('unarchive', SCHEMA, options, check);
}
