/** What the host holds of an unarchive: the marker, dest, the cached archive and leftover staging. */
import { raw, sh } from '../shell/quote.js';
import { defineFact } from './define.js';
import type { EffectView } from './effects.js';
export const MARKER_NAME = '.is-provision-unarchive.json';

export interface UnarchiveMarker {
  archive: string;
  sha256: string;
  size: number;
  stripComponents: number;
}

export interface UnarchiveStateArgs {
  dest: string;
  sha256: string;
  size: number;
  /** The cache directory; undefined for "$HOME/.cache/is-provision" (a login without root). */
  cacheDir?: string;
  /** The archive's name in the cache: "<sha256>.<ext>". */
  cacheName: string;
}

export interface UnarchiveState {
  dest: 'directory' | 'absent' | 'other';
  /** dest holds nothing (a directory an earlier task made for it, say). */
  empty?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  /** What the marker says was unpacked; undefined when there is none or it is not ours. */
  marker?: UnarchiveMarker;
  /** Whether the cache holds this archive. Not checked (`skipped`) when the marker already matches. */
  cache: 'match' | 'absent' | 'mismatch' | 'skipped';
  /** Staging directories left beside dest by an interrupted run. */
  staging: number;
  unzip: boolean;
  /** KiB free where dest goes (its nearest existing ancestor). */
  availKiB?: number;
  /** Answered from an earlier planned change rather than from the host. */
  planned?: string;
}

export function markerPath(dest: string): string {
  return `${dest}/${MARKER_NAME}`;
}

export function parseMarker(text: string): UnarchiveMarker | undefined {
  try {
    const value = JSON.parse(text) as Partial<UnarchiveMarker>;
    if (typeof value.sha256 !== 'string' || typeof value.archive !== 'string') return undefined;
    return { archive: value.archive, sha256: value.sha256, size: Number(value.size ?? 0), stripComponents: Number(value.stripComponents ?? 0) };
  } catch {
    return undefined;
  }
}

function parse(stdout: string): UnarchiveState {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const dest = (fields.get('dest') ?? 'absent') as UnarchiveState['dest'];
  const [mode, owner, group] = (fields.get('stat') ?? '').split(' ');
  const marker = fields.has('marker') ? parseMarker(Buffer.from(fields.get('marker')!, 'base64').toString('utf8')) : undefined;
  const avail = fields.get('avail') ?? '';
  return {
    dest,
    ...(dest === 'directory' ? { empty: fields.get('empty') === 'yes' } : {}),
    ...(mode ? { mode: mode.padStart(4, '0') } : {}),
    ...(owner ? { owner } : {}),
    ...(group ? { group } : {}),
    ...(marker ? { marker } : {}),
    cache: (fields.get('cache') ?? 'absent') as UnarchiveState['cache'],
    staging: Number(fields.get('staging') ?? 0),
    unzip: fields.get('unzip') === 'yes',
    ...(/^\d+$/.test(avail) ? { availKiB: Number(avail) } : {}),
  };
}

/** Where an earlier task of this run already unpacks the same archive into dest. */
function fromEffects(args: UnarchiveStateArgs, effects: EffectView): UnarchiveState | undefined {
  const marker = effects.path(markerPath(args.dest));
  const parsed = marker?.state === 'file' && marker.content ? parseMarker(marker.content.toString('utf8')) : undefined;
  if (!parsed || parsed.sha256 !== args.sha256) return undefined;
  const dest = effects.path(args.dest);
  return {
    dest: 'directory',
    empty: false,
    ...(dest?.mode ? { mode: dest.mode } : {}),
    ...(dest?.owner ? { owner: dest.owner } : {}),
    ...(dest?.group ? { group: dest.group } : {}),
    marker: parsed,
    cache: 'skipped',
    staging: 0,
    unzip: true,
    planned: `"${marker!.by ?? 'an earlier task'}"`,
  };
}

/** A tool or a directory that an earlier planned change brings or takes away. */
function refine(value: UnarchiveState, args: UnarchiveStateArgs, effects: EffectView): UnarchiveState {
  let next = value;
  if (!value.unzip && effects.package('unzip')?.installed) next = { ...next, unzip: true };
  const own = effects.path(args.dest);
  const ancestor = effects.ancestor(args.dest);
  const by = `"${(own ?? ancestor)?.by ?? 'an earlier task'}"`;
  const { empty: _e, mode: _m, owner: _o, group: _g, marker: _k, ...rest } = next;
  if (own?.state === 'absent' || (!own && ancestor && (ancestor.state === 'absent' || (ancestor.state === 'directory' && ancestor.fresh)))) {
    return { ...rest, dest: 'absent', planned: by };
  }
  const markerEffect = effects.path(markerPath(args.dest));
  const marker = markerEffect?.state === 'file' && markerEffect.content ? parseMarker(markerEffect.content.toString('utf8')) : undefined;
  if (own?.state === 'directory' && marker) {
    return { ...rest, dest: 'directory', empty: false, marker, ...(own.mode ? { mode: own.mode } : {}), ...(own.owner ? { owner: own.owner } : {}), ...(own.group ? { group: own.group } : {}), planned: by };
  }
  // A directory made for it by an earlier task (file state directory): empty, with that task's mode.
  if (own?.state === 'directory' && own.fresh) {
    return { ...rest, dest: 'directory', empty: true, ...(own.mode ? { mode: own.mode } : {}), ...(own.owner ? { owner: own.owner } : {}), ...(own.group ? { group: own.group } : {}), planned: by };
  }
  return next;
}

/** The marker in dest, dest itself, leftovers of interrupted runs and the cached copy of the archive. */
export const unarchiveStateFact = defineFact<UnarchiveStateArgs, UnarchiveState>({
  id: 'unarchive-state',
  command: ({ dest, sha256, size, cacheDir, cacheName }) => sh`dest=${dest}
${cacheDir === undefined ? raw('cache="$HOME/.cache/is-provision"') : sh`cache=${cacheDir}`}
m="$dest"/${MARKER_NAME}
if [ -L "$dest" ]; then echo dest=other; elif [ -d "$dest" ]; then echo dest=directory; echo "stat=$(stat -c '%a %U %G' -- "$dest")"; if [ -z "$(ls -A -- "$dest" 2>/dev/null)" ]; then echo empty=yes; fi; elif [ -e "$dest" ]; then echo dest=other; else echo dest=absent; fi
if [ -f "$m" ] && [ -r "$m" ]; then printf 'marker='; head -c 65536 -- "$m" | base64 | tr -d '\\n'; echo; fi
n=0; for s in "$dest".staging-*; do [ -e "$s" ] && n=$((n+1)); done; echo "staging=$n"
if [ -f "$m" ] && grep -qF -- ${`"sha256":"${sha256}"`} "$m" 2>/dev/null; then echo cache=skipped
elif [ -f "$cache"/${cacheName} ]; then
  if [ "$(stat -c %s -- "$cache"/${cacheName})" = ${size} ] && [ "$(sha256sum < "$cache"/${cacheName} | cut -d' ' -f1)" = ${sha256} ]; then echo cache=match; else echo cache=mismatch; fi
else echo cache=absent; fi
if command -v unzip >/dev/null 2>&1; then echo unzip=yes; else echo unzip=no; fi
p=$(dirname -- "$dest"); while [ ! -d "$p" ]; do p=$(dirname -- "$p"); done
echo "avail=$(df -Pk -- "$p" 2>/dev/null | awk 'NR==2 {print $4}')"`,
  parse,
  fromEffects,
  refine,
});
