import { sh } from '../shell/quote.js';
import { defineFact } from './define.js';
import type { EffectView } from './effects.js';

/** In the order they are looked for: the first binary found wins (Fedora has both dnf and yum). */
export type PackageManager = 'apt' | 'dnf' | 'yum' | 'apk' | 'zypper' | 'pacman' | 'brew';

/** dpkg's word for where a package stands; other managers only know installed or not. */
export type PackageStatus =
  | 'installed'
  | 'not-installed'
  | 'config-files'
  | 'half-installed'
  | 'unpacked'
  | 'half-configured';

export interface PackageInfo {
  name: string;
  status: PackageStatus;
  /** The version on the host, also for the in-between dpkg states; absent when none. */
  version?: string;
  /** apt-mark hold (dpkg's desired state "h"): apt will not upgrade it. */
  held?: boolean;
  /**
   * apt only: what `apt-cache policy` would install; "(none)" when apt knows the name but has no
   * version of it (a virtual package), undefined when apt does not know the name (or was not asked).
   */
  candidate?: string;
  /** A newer version in the local index than the one installed (asked for state latest only). */
  upgrade?: string;
  /** In a dry-run: an earlier task plans to install (or remove) it. */
  planned?: { by: string; installed: boolean };
}

export interface PackagesFact {
  /** Undefined when none of the managers is on the host. */
  manager?: PackageManager;
  /** ID= of /etc/os-release ("debian", "alpine"), "macos" on a Mac. */
  os?: string;
  /** The brew binary, which is often not on a non-login PATH. */
  brew?: string;
  /** In the order asked. */
  packages: PackageInfo[];
  /** apt: how many package lists /var/lib/apt/lists holds (0 on a fresh minimal image). */
  indexFiles?: number;
  /** apt: seconds since the index last changed or was refreshed by us; undefined when unknown. */
  indexAge?: number;
}

export interface PackagesFactArgs {
  names: readonly string[];
  /** Which candidates to ask the index about: none (state absent), the missing ones, all (latest). */
  candidates: 'none' | 'missing' | 'all';
}

/**
 * dpkg-query's fields. db:Status-Abbrev is three letters (desired, status, error flag): an "rc"
 * package left its config files behind and is NOT installed, which a bare `dpkg -s` check misses.
 */
export const DPKG_FORMAT = '${db:Status-Abbrev}|${Version}\\n';

/**
 * apt-get update keeps the list files' mtimes at the server's Last-Modified and leaves the directory
 * alone when nothing changed, so a successful refresh is remembered here (Ubuntu's update-notifier
 * and Ansible's apt module read the same stamp; apt's daily timer leaves update-stamp beside it).
 */
export const APT_STAMP = '/var/lib/apt/periodic/update-success-stamp';

const RPM_FORMAT = '%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n';
const DPKG_STATUS: Record<string, PackageStatus> = {
  i: 'installed',
  W: 'installed',
  t: 'installed',
  n: 'not-installed',
  c: 'config-files',
  H: 'half-installed',
  U: 'unpacked',
  F: 'half-configured',
};

function command({ names, candidates }: PackagesFactArgs) {
  // Versions are read from each manager's local database and index only: no refresh, no network.
  return sh`set -- ${[...names]}
want=${candidates}
b=
if command -v apt-get >/dev/null 2>&1; then m=apt
elif command -v dnf >/dev/null 2>&1; then m=dnf
elif command -v yum >/dev/null 2>&1; then m=yum
elif command -v apk >/dev/null 2>&1; then m=apk
elif command -v zypper >/dev/null 2>&1; then m=zypper
elif command -v pacman >/dev/null 2>&1; then m=pacman
else
  m=none
  for c in "$(command -v brew 2>/dev/null)" /opt/homebrew/bin/brew /usr/local/bin/brew /home/linuxbrew/.linuxbrew/bin/brew; do
    if [ -n "$c" ] && [ -x "$c" ]; then m=brew; b=$c; echo "brew=$b"; break; fi
  done
fi
echo "manager=$m"
if [ -r /etc/os-release ]; then echo "os=$(sed -n 's/^ID=//p' /etc/os-release | tr -d "\\"'")"
elif [ "$(uname -s)" = Darwin ]; then echo os=macos; fi
for n in "$@"; do
  v=
  case $m in
  apt)
    s=$(dpkg-query -W -f=${DPKG_FORMAT} "$n" 2>/dev/null | head -n 1)
    echo "pkg=$n|$s"
    case $s in ?[iWt]*) v=installed ;; esac
    if [ "$want" = all ] || { [ "$want" = missing ] && [ -z "$v" ]; }; then
      echo "candidate=$n|$(apt-cache -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= policy "$n" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -n 1)"
    fi
    continue ;;
  dnf|yum|zypper) v=$(rpm -q --qf ${RPM_FORMAT} "$n" 2>/dev/null) || v= ;;
  apk) v=$(awk -v n="$n" '/^P:/ { p = substr($0, 3) } /^V:/ && p == n { print substr($0, 3); exit }' /lib/apk/db/installed 2>/dev/null) ;;
  pacman) v=$(pacman -Q "$n" 2>/dev/null | awk '{ print $2 }') ;;
  brew) v=$(HOMEBREW_NO_AUTO_UPDATE=1 "$b" list --versions "$n" 2>/dev/null | awk '{ print $NF }') ;;
  esac
  v=$(printf '%s\\n' "$v" | head -n 1)
  if [ -n "$v" ]; then echo "pkg=$n|ii |$v"; else echo "pkg=$n||"; fi
done
if [ "$m" = apt ]; then
  k=0
  for f in /var/lib/apt/lists/*_Packages*; do if [ -e "$f" ]; then k=$((k + 1)); fi; done
  echo "index_files=$k"
  t=0
  for f in ${APT_STAMP} /var/lib/apt/periodic/update-stamp /var/lib/apt/lists; do
    if [ -e "$f" ]; then s=$(stat -c %Y "$f" 2>/dev/null || echo 0); if [ "$s" -gt "$t" ]; then t=$s; fi; fi
  done
  if [ "$t" -gt 0 ]; then echo "index_age=$(($(date +%s) - t))"; fi
fi
if [ "$want" = all ]; then
  case $m in
  dnf|yum) "$m" -C -q check-update "$@" 2>/dev/null | awk '/^Obsoleting/ { exit } NF == 1 { h = $1; next } { if (h != "") { $0 = h " " $0; h = "" } } NF == 3 { print "upgrade=" $1 "|" $2 }' ;;
  zypper) zypper -n --no-refresh list-updates 2>/dev/null | awk -F'|' 'NF >= 6 && $1 ~ /^ *v *$/ { gsub(/ /, "", $3); gsub(/ /, "", $5); print "upgrade=" $3 "|" $5 }' ;;
  apk) apk --no-network version -l '<' "$@" 2>/dev/null | awk 'NF == 3 && $2 == "<" { print "upgrade=" $1 "|" $3 }' ;;
  pacman) pacman -Qu "$@" 2>/dev/null | awk '$3 == "->" { print "upgrade=" $1 "|" $4 }' ;;
  brew) HOMEBREW_NO_AUTO_UPDATE=1 "$b" outdated --verbose "$@" 2>/dev/null | awk '{ print "upgrade=" $1 "|" $NF }' ;;
  esac
fi
exit 0`;
}

/** Whether an upgrade line of the manager's listing is about this package. */
function upgradeIsFor(manager: PackageManager, listed: string, pkg: PackageInfo): boolean {
  switch (manager) {
    case 'dnf':
    case 'yum':
      return listed === pkg.name || listed.replace(/\.[^.]+$/, '') === pkg.name;
    case 'apk':
      // apk lists name-version, and names hold dashes too: match the version we know is installed.
      return pkg.version !== undefined && listed === `${pkg.name}-${pkg.version}`;
    default:
      return listed === pkg.name;
  }
}

function parsePackage(value: string): PackageInfo {
  const [name = '', abbrev = '', version = ''] = value.split('|');
  const status = abbrev.trim() === '' ? 'not-installed' : (DPKG_STATUS[abbrev[1] ?? 'n'] ?? 'not-installed');
  return {
    name,
    status,
    ...(version !== '' ? { version } : {}),
    ...(abbrev[0] === 'h' ? { held: true } : {}),
  };
}

const MANAGERS: readonly string[] = ['apt', 'dnf', 'yum', 'apk', 'zypper', 'pacman', 'brew'];

export function parsePackages(stdout: string, args: PackagesFactArgs): PackagesFact {
  const fact: PackagesFact = { packages: [] };
  const byName = new Map<string, PackageInfo>();
  const candidates = new Map<string, string>();
  const upgrades: [string, string][] = [];
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const bar = value.indexOf('|');
    if (key === 'manager' && MANAGERS.includes(value)) fact.manager = value as PackageManager;
    else if (key === 'os' && value !== '') fact.os = value;
    else if (key === 'brew') fact.brew = value;
    else if (key === 'index_files') fact.indexFiles = Number(value);
    else if (key === 'index_age') fact.indexAge = Math.max(0, Number(value));
    else if (key === 'pkg') byName.set(value.slice(0, bar), parsePackage(value));
    else if (key === 'candidate' && value.slice(bar + 1) !== '') candidates.set(value.slice(0, bar), value.slice(bar + 1));
    else if (key === 'upgrade' && bar > 0) upgrades.push([value.slice(0, bar), value.slice(bar + 1)]);
  }
  for (const name of args.names) {
    const pkg = byName.get(name) ?? { name, status: 'not-installed' as const };
    const candidate = candidates.get(name);
    if (candidate !== undefined) pkg.candidate = candidate;
    if (fact.manager === 'apt') {
      if (args.candidates === 'all' && pkg.status === 'installed' && candidate && candidate !== '(none)' && candidate !== pkg.version) pkg.upgrade = candidate;
    } else if (fact.manager && pkg.status === 'installed') {
      const found = upgrades.find(([listed]) => upgradeIsFor(fact.manager!, listed, pkg));
      if (found) pkg.upgrade = found[1];
    }
    fact.packages.push(pkg);
  }
  return fact;
}

/** In a dry-run, packages an earlier task installs or removes are taken as that task leaves them. */
function refine(value: PackagesFact, _args: PackagesFactArgs, effects: EffectView): PackagesFact {
  const packages = value.packages.map((pkg) => {
    const effect = effects.package(pkg.name);
    return effect ? { ...pkg, planned: { by: effect.by ?? 'an earlier task', installed: effect.installed } } : pkg;
  });
  return { ...value, packages };
}

/**
 * The host's package manager and, for each name, the installed version and (as asked) what the local
 * index offers. Read-only and always exits 0: an unknown name is reported as not installed.
 */
export const packagesFact = defineFact<PackagesFactArgs, PackagesFact>({
  id: 'packages',
  command,
  parse: parsePackages,
  refine,
});
