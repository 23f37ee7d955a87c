/**
 * The probe of a wait: one POSIX sh function, `check`, that looks once and sets `ok` (yes/no) and
 * `obs` (what it saw, one line). The fact runs it once; the waiting step runs it in a loop.
 */
import { join, raw, sh, type Shell } from '../shell/quote.js';
import { defineFact, Unknowable } from './define.js';
import type { EffectView } from './effects.js';

export type WaitTarget =
  | { kind: 'port'; port: number; host?: string }
  | { kind: 'url'; url: string; status: readonly number[]; insecure: boolean }
  | { kind: 'file'; path: string; contains?: string };

export interface WaitProbe {
  target: WaitTarget;
  /** Wait for the opposite: the port closed, the URL not answering so, the file (or line) gone. */
  absent: boolean;
  /** Only lines written after the snapshot that `snapshot` takes count (file with contains). */
  sinceSnapshot?: boolean;
}

export type WaitTool = 'curl' | 'wget' | 'nc' | 'bash';

export interface WaitState {
  /** The condition waited for holds now (absent taken into account). */
  met: boolean;
  observed: string;
  tools: readonly WaitTool[];
  planned?: string;
}

/** What the texts of a file probe say, composed here so that the shell only picks one. */
function fileTexts(path: string, contains: string | undefined) {
  const line = contains === undefined ? '' : `line containing ${JSON.stringify(contains)}`;
  return {
    missing: `${path} does not exist`,
    directory: `${path} is a directory`,
    unreadable: `${path} cannot be read`,
    yes: contains === undefined ? `${path} exists` : `a ${line} is in ${path}`,
    no: contains === undefined ? `${path} does not exist` : `no ${line} in ${path}`,
  };
}

function portProbe(port: number, host: string | undefined): Shell {
  if (host === undefined) {
    // /proc/net/tcp{,6} list every socket with its state (0A: LISTEN): no tool needed, on any Linux.
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    return join(
      [
        raw('probe() {'),
        sh`  if grep -Eq ${`^ *[0-9]+: [0-9A-F]+:${hex} [0-9A-F]+:[0-9A-F]+ 0A `} /proc/net/tcp /proc/net/tcp6 2>/dev/null; then ok=yes; obs=${`port ${port} is listening`}`,
        sh`  else ok=no; obs=${`nothing listens on port ${port}`}; fi`,
        raw('}'),
      ],
      '\n',
    );
  }
  return join(
    [
      sh`host=${host}; port=${port}`,
      raw('probe() {'),
      raw('  if command -v nc >/dev/null 2>&1; then nc -z -w 2 "$host" "$port" >/dev/null 2>&1; r=$?'),
      // Not bash syntax in our script: bash is a tool here, present on every Debian, used only for /dev/tcp.
      raw(`  elif command -v bash >/dev/null 2>&1; then timeout 3 bash -c ': > "/dev/tcp/$1/$2"' probe "$host" "$port" >/dev/null 2>&1; r=$?`),
      raw('  else r=127; fi'),
      raw('  case $r in 0) ok=yes; obs="$host:$port accepts connections";;'),
      raw('    127) ok=no; obs="no TCP client (nc or bash) on this host";;'),
      raw('    *) ok=no; obs="$host:$port does not accept connections";; esac'),
      raw('}'),
    ],
    '\n',
  );
}

function urlProbe(url: string, status: readonly number[], insecure: boolean): Shell {
  // The URL's own answer, redirects not followed: a 302 to a login page is an answer too.
  const k = insecure ? raw(' -k') : raw('');
  const noCheck = insecure ? raw(' --no-check-certificate') : raw('');
  return join(
    [
      sh`url=${url}; statuses=${` ${status.join(' ')} `}`,
      raw('probe() {'),
      raw('  code='),
      sh`  if command -v curl >/dev/null 2>&1; then code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 10${k} "$url" 2>/dev/null)`,
      sh`  elif command -v wget >/dev/null 2>&1; then code=$(wget -q -S -O /dev/null --timeout=10 --tries=1 --max-redirect=0${noCheck} "$url" 2>&1 | awk '$1 ~ /^HTTP\\// { c = $2 } END { print c }')`,
      raw('  else ok=no; obs="neither curl nor wget on this host"; return; fi'),
      raw('  case $code in'),
      raw('    ""|000) ok=no; obs="no HTTP answer from $url";;'),
      raw('    *) case $statuses in *" $code "*) ok=yes;; *) ok=no;; esac; obs="$url answers $code";;'),
      raw('  esac'),
      raw('}'),
    ],
    '\n',
  );
}

function fileProbe(path: string, contains: string | undefined, since: boolean): Shell {
  const t = fileTexts(path, contains);
  const lines: Shell[] = [sh`file=${path}`];
  if (contains !== undefined) lines.push(sh`needle=${contains}`);
  lines.push(raw('probe() {'));
  lines.push(sh`  if [ ! -e "$file" ]; then ok=no; obs=${t.missing}; return; fi`);
  if (contains === undefined) {
    lines.push(sh`  ok=yes; obs=${t.yes}`);
  } else {
    lines.push(sh`  if [ -d "$file" ]; then ok=no; obs=${t.directory}; return; fi`);
    if (since) {
      // Only what was appended since the snapshot; a log rotated or truncated meanwhile is new as a whole.
      lines.push(raw(`  set -- $(stat -c '%i %s' -- "$file")`));
      lines.push(raw('  if [ "$1" = "$ino0" ] && [ "$2" -ge "$size0" ]; then tail -c +$((size0 + 1)) -- "$file" | grep -qF -e "$needle"; r=$?'));
      lines.push(raw('  else grep -qF -e "$needle" -- "$file" 2>/dev/null; r=$?; fi'));
    } else {
      lines.push(raw('  grep -qF -e "$needle" -- "$file" 2>/dev/null; r=$?'));
    }
    lines.push(sh`  case $r in 0) ok=yes; obs=${t.yes};; 1) ok=no; obs=${t.no};; *) ok=no; obs=${t.unreadable};; esac`);
  }
  lines.push(raw('}'));
  return join(lines, '\n');
}

/** Defines `check`: the probe of the target, inverted for `absent`. */
export function checkFunction(probe: WaitProbe): Shell {
  const { target } = probe;
  const body =
    target.kind === 'port'
      ? portProbe(target.port, target.host)
      : target.kind === 'url'
        ? urlProbe(target.url, target.status, target.insecure)
        : fileProbe(target.path, target.contains, probe.sinceSnapshot === true);
  const invert = probe.absent ? raw('  if [ "$ok" = yes ]; then ok=no; else ok=yes; fi') : raw('  :');
  return join([body, raw('check() {'), raw('  probe'), invert, raw('}')], '\n');
}

/** Remembers where the file ends now (inode and size), for `sinceSnapshot`. */
export const SNAPSHOT = raw(`if [ -f "$file" ]; then set -- $(stat -c '%i %s' -- "$file"); ino0=$1; size0=$2; else ino0=; size0=0; fi`);

function parse(stdout: string): WaitState {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const tools = (fields.get('tools') ?? '').split(' ').filter((t): t is WaitTool => ['curl', 'wget', 'nc', 'bash'].includes(t));
  return { met: fields.get('met') === 'yes', observed: fields.get('observed') ?? '', tools };
}

/** A file planned by an earlier task answers a file probe without asking the host. */
function fromEffects(probe: WaitProbe, effects: EffectView): WaitState | Unknowable | undefined {
  const { target } = probe;
  if (target.kind !== 'file') return undefined;
  const t = fileTexts(target.path, target.contains);
  const own = effects.path(target.path);
  const ancestor = own ? undefined : effects.ancestor(target.path);
  const by = `"${(own ?? ancestor)?.by ?? 'an earlier task'}"`;
  let seen: { ok: boolean; obs: string } | undefined;
  if (own) {
    if (own.state === 'absent') seen = { ok: false, obs: t.missing };
    else if (target.contains === undefined) seen = { ok: true, obs: t.yes };
    else if (own.state === 'directory') seen = { ok: false, obs: t.directory };
    else if (own.state === 'file' && own.content) {
      const ok = own.content.toString('utf8').includes(target.contains);
      seen = { ok, obs: ok ? t.yes : t.no };
    } else return new Unknowable(`the content of ${target.path} comes from ${by}`);
  } else if (ancestor && (ancestor.state === 'absent' || (ancestor.state === 'directory' && ancestor.fresh))) {
    seen = { ok: false, obs: t.missing };
  }
  if (!seen) return undefined;
  return { met: seen.ok !== probe.absent, observed: seen.obs, tools: [], planned: by };
}

const PACKAGE_TOOLS: Readonly<Record<string, WaitTool>> = { curl: 'curl', wget: 'wget', 'netcat-openbsd': 'nc', 'netcat-traditional': 'nc', bash: 'bash' };

/** Tools an earlier task installs; and a wait not met now that a planned install may well change. */
function refine(value: WaitState, probe: WaitProbe, effects: EffectView): WaitState | Unknowable {
  const installs = effects.installs();
  const tools = new Set(value.tools);
  for (const p of installs) if (PACKAGE_TOOLS[p.name]) tools.add(PACKAGE_TOOLS[p.name]!);
  const first = installs[0];
  if (!value.met && first && !value.planned) {
    return new Unknowable(`${value.observed} now, and package ${first.name} ("${first.by ?? 'an earlier task'}") is installed first`);
  }
  return { ...value, tools: [...tools] };
}

/** Whether what a wait waits for holds now, what the probe saw, and the tools the host has. */
export const waitStateFact = defineFact<WaitProbe, WaitState>({
  id: 'wait-for',
  command: (probe) =>
    join(
      [
        checkFunction({ ...probe, sinceSnapshot: false }),
        raw('check'),
        raw('echo "met=$ok"'),
        raw(`printf 'observed=%s\\n' "$(printf '%s' "$obs" | tr '\\n' ' ')"`),
        raw('t=; for c in curl wget nc bash; do if command -v "$c" >/dev/null 2>&1; then t="$t $c"; fi; done; echo "tools=${t# }"'),
      ],
      '\n',
    ),
  parse,
  fromEffects,
  refine,
});
