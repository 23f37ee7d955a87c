import { raw, sh } from '../shell/quote.js';
import { defineFact } from './define.js';
import type { EffectView } from './effects.js';

export type ServiceManager = 'systemd' | 'sysv' | 'brew';

export interface ServiceFact {
  name: string;
  /** What runs services on the host; undefined when none of them is there. */
  manager?: ServiceManager;
  exists: boolean;
  running?: boolean;
  /**
   * The manager's own words, for reasons: systemd's ActiveState ("failed"), the init script's
   * status exit code and first line, brew's status.
   */
  status?: string;
  /** SysV: exit code of `/etc/init.d/NAME status` (LSB: 0 running, 1-3 not running, 4 unknown). */
  statusCode?: number;
  enabled?: boolean;
  /** systemd's is-enabled word: enabled, disabled, static, masked, indirect, generated, ... */
  enabledState?: string;
  /** SysV helpers on the host (Debian has `service` and update-rc.d, old Red Hats chkconfig). */
  tools?: { service: boolean; updateRcD: boolean; chkconfig: boolean };
  brew?: string;
  /** In a dry-run: an earlier task plans the service's state. */
  planned?: string;
  /** In a dry-run, for a service missing now: the package an earlier task installs that may bring it. */
  comesWith?: { package: string; by: string };
}

/** A program run from its own pid file, not a system service (a WSO2 IS node). */
export interface ProcessFact {
  pidFile: string;
  pidFilePresent: boolean;
  pid?: number;
  running: boolean;
  /** Why a pid in the file does not count: "no such process", "zombie", "another process (...)". */
  stale?: string;
  planned?: string;
}

export interface ProcessFactArgs {
  /** The service's name, to find planned effects. */
  name: string;
  pidFile: string;
  /** A substring the process's command line must hold, so that a recycled pid is not taken for it. */
  match?: string;
}

/**
 * Shell functions shared by the process fact and the custom service's steps, so that "running" means
 * the same in both: the pid ($1) is alive, not a zombie (kill -0 succeeds on one), and its command
 * line holds $2 when given. /proc is read first: kill -0 fails on another user's process. Expects the
 * pid file's path in $pf.
 */
export const PROCESS_FUNCTIONS = `pid_of() { if [ -f "$pf" ]; then head -n 1 "$pf" 2>/dev/null | tr -dc 0-9; fi; }
why_not() {
  [ -n "$1" ] || { echo "no pid"; return; }
  if [ -d /proc/self ]; then
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "no such process"; return; }
    s=\${s##*) }
    case $s in Z*|X*|x*) echo zombie; return ;; esac
    if [ -n "$2" ]; then
      c=$(tr '\\000' ' ' < "/proc/$1/cmdline" 2>/dev/null)
      case $c in *"$2"*) ;; *) echo "another process ($(printf '%.60s' "$c"))"; return ;; esac
    fi
  else
    kill -0 "$1" 2>/dev/null || { echo "no such process"; return; }
    if [ -n "$2" ]; then
      case $(ps -o command= -p "$1" 2>/dev/null) in *"$2"*) ;; *) echo "another process"; return ;; esac
    fi
  fi
}
alive() { [ -z "$(why_not "$1" "$2")" ]; }`;

function fields(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !map.has(line.slice(0, eq))) map.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return map;
}

/** systemd's ActiveState values that mean the service is up (or on its way). */
const SYSTEMD_RUNNING = ['active', 'activating', 'reloading'];
/** is-enabled words for a unit that starts at boot, or is started by something else that does. */
const SYSTEMD_ENABLED = ['enabled', 'enabled-runtime', 'static', 'indirect', 'generated', 'alias', 'linked', 'linked-runtime'];

export function parseService(stdout: string, args: { name: string }): ServiceFact {
  const f = fields(stdout);
  const manager = f.get('manager');
  const fact: ServiceFact = { name: args.name, exists: false };
  if (manager === 'systemd') {
    const load = f.get('LoadState') ?? '';
    fact.manager = 'systemd';
    fact.exists = load !== '' && load !== 'not-found';
    if (!fact.exists) return fact;
    fact.status = f.get('ActiveState') || 'unknown';
    fact.running = SYSTEMD_RUNNING.includes(fact.status);
    fact.enabledState = load === 'masked' ? 'masked' : f.get('enabled') || 'unknown';
    fact.enabled = SYSTEMD_ENABLED.includes(fact.enabledState);
  } else if (manager === 'sysv') {
    const code = Number(f.get('status') ?? '4');
    fact.manager = 'sysv';
    fact.exists = true;
    fact.statusCode = code;
    fact.running = code === 0;
    const message = f.get('message') ?? '';
    fact.status = `status exit ${code}${message ? `: ${message}` : ''}`;
    fact.enabled = f.get('enabled') === 'yes';
    fact.tools = { service: f.get('service') === 'yes', updateRcD: f.get('update-rc.d') === 'yes', chkconfig: f.get('chkconfig') === 'yes' };
  } else if (manager === 'brew') {
    fact.manager = 'brew';
    fact.brew = f.get('brew') ?? 'brew';
    const marker = stdout.indexOf('\njson:\n');
    let info: { running?: unknown; status?: unknown } | undefined;
    try {
      const parsed: unknown = marker < 0 ? undefined : JSON.parse(stdout.slice(marker + 7));
      info = Array.isArray(parsed) ? parsed[0] : undefined;
    } catch {
      info = undefined;
    }
    if (info) {
      fact.exists = true;
      fact.running = info.running === true;
      fact.status = typeof info.status === 'string' ? info.status : fact.running ? 'started' : 'stopped';
    }
  }
  return fact;
}

/**
 * In a dry-run: a state planned by an earlier service task wins; a service missing now may come with
 * a package that an earlier task installs (the one named like it, else the latest).
 */
function refineService(value: ServiceFact, args: { name: string }, effects: EffectView): ServiceFact {
  const planned = effects.service(args.name);
  if (planned) {
    return { ...value, exists: planned.exists, ...(planned.running !== undefined ? { running: planned.running } : {}), planned: planned.by ?? 'an earlier task' };
  }
  if (value.exists) return value;
  const installs = effects.installs();
  const base = args.name.replace(/\.service$/, '');
  const install = installs.find((p) => p.name === base) ?? installs.find((p) => p.name.startsWith(base) || base.startsWith(p.name)) ?? installs[installs.length - 1];
  return install ? { ...value, comesWith: { package: install.name, by: install.by ?? 'an earlier task' } } : value;
}

/**
 * A system service: systemd when /run/systemd/system exists (as systemd itself tests), else a SysV
 * init script, else brew services on a Mac. Read-only: an init script's `status` only reads.
 */
export const serviceFact = defineFact<{ name: string }, ServiceFact>({
  id: 'service',
  command: ({ name }) => sh`n=${name}
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo manager=systemd
  systemctl show -p LoadState -p ActiveState "$n" 2>/dev/null
  echo "enabled=$(systemctl is-enabled "$n" 2>/dev/null)"
elif [ -x "/etc/init.d/$n" ]; then
  echo manager=sysv
  o=$("/etc/init.d/$n" status 2>&1 </dev/null)
  echo "status=$?"
  echo "message=$(printf '%s\\n' "$o" | head -n 1)"
  e=no
  for f in /etc/rc[2345].d/S[0-9][0-9]"$n" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$n"; do if [ -e "$f" ]; then e=yes; fi; done
  echo "enabled=$e"
  for t in service update-rc.d chkconfig; do if command -v "$t" >/dev/null 2>&1; then echo "$t=yes"; fi; done
elif [ "$(uname -s)" = Darwin ]; then
  for b in "$(command -v brew 2>/dev/null)" /opt/homebrew/bin/brew /usr/local/bin/brew; do
    if [ -n "$b" ] && [ -x "$b" ]; then
      printf 'manager=brew\\nbrew=%s\\njson:\\n' "$b"
      HOMEBREW_NO_AUTO_UPDATE=1 "$b" services info --json "$n" 2>/dev/null
      break
    fi
  done
fi
exit 0`,
  parse: parseService,
  refine: refineService,
});

export function parseProcess(stdout: string, args: ProcessFactArgs): ProcessFact {
  const f = fields(stdout);
  const pid = Number(f.get('pid') ?? '');
  const fact: ProcessFact = { pidFile: args.pidFile, pidFilePresent: f.get('pidfile') === 'present', running: false };
  if (fact.pidFilePresent && Number.isInteger(pid) && pid > 0) fact.pid = pid;
  const why = f.get('why') ?? '';
  if (fact.pidFilePresent) {
    if (why === '') fact.running = fact.pid !== undefined;
    else fact.stale = why;
  }
  return fact;
}

function refineProcess(value: ProcessFact, args: ProcessFactArgs, effects: EffectView): ProcessFact {
  const planned = effects.service(args.name);
  if (!planned || planned.running === undefined) return value;
  return { ...value, running: planned.running, planned: planned.by ?? 'an earlier task' };
}

/** A custom service's state from its pid file. Reports "why=" when a pid is there but does not count. */
export const processFact = defineFact<ProcessFactArgs, ProcessFact>({
  id: 'process',
  command: ({ pidFile, match }) => sh`pf=${pidFile}
match=${match ?? ''}
${raw(PROCESS_FUNCTIONS)}
if [ -f "$pf" ]; then
  echo pidfile=present
  p=$(pid_of)
  echo "pid=$p"
  echo "why=$(why_not "$p" "$match")"
else
  echo pidfile=absent
fi
exit 0`,
  parse: parseProcess,
  refine: refineProcess,
});
