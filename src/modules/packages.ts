/**
 * `packages`: makes sure packages are installed, at their newest, or gone.
 *
 * Options:
 * - `names` (required): a package name or an array of them, as the host's manager spells them
 *   (`libc6:amd64`, `python@3.12`, `homebrew/cask/foo`).
 * - `state`: `present` (default): installed, any version; `latest`: installed at the newest version
 *   the package index offers; `absent`: removed.
 * - `updateCache`: refresh the package index before installing. With `present` only when something
 *   is installed; with `latest` always, and then the task always reports changed, since what the
 *   fresh index offers cannot be known before.
 * - `cacheValidTime`: apt: refresh the index first when it is older than this many seconds, or
 *   missing (a fresh minimal image has none); default 86400. Other managers refresh their metadata
 *   themselves, or on `updateCache`.
 * - `installRecommends`: apt: `false` adds --no-install-recommends. Default: apt's own (recommends
 *   are installed), since a package's maintainer lists there what a working install usually needs,
 *   and Ansible does the same.
 * - `purge`: with `absent` on apt: purge, so that config files go too (also of packages already
 *   removed with their config files left behind).
 *
 * The manager is the first of apt-get, dnf, yum, apk, zypper, pacman and brew on the host. Nothing to
 * do is a no-op that touches neither the index nor the network; otherwise ONE command installs every
 * package that needs it, non-interactively (apt keeps locally changed config files on upgrade, and
 * waits for a dpkg lock held by unattended-upgrades instead of failing). brew refuses to run as root:
 * its tasks need `become: false`.
 *
 * @example
 * packages({ names: ['nginx', 'openjdk-17-jre-headless', 'unzip'] })
 */
import { APT_STAMP, packagesFact, type PackageInfo, type PackageManager, type PackagesFact } from '../facts/packages.js';
import type { FactCall } from '../facts/define.js';
import type { Effect } from '../facts/effects.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { raw, sh, type Shell } from '../shell/quote.js';
import { change, noop, TaskFailure, type Decision, type Step } from './decision.js';
import { defineModule, type DecideContext } from './define.js';
import { outputInFile } from './service.js';

export type PackageState = 'present' | 'absent' | 'latest';

export interface PackagesOptions {
  names: string | string[];
  state?: PackageState;
  updateCache?: boolean;
  cacheValidTime?: number;
  installRecommends?: boolean;
  purge?: boolean;
}

export interface PackagesPlan {
  names: string[];
  state: PackageState;
  updateCache: boolean;
  cacheValidTime: number;
  installRecommends?: boolean;
  purge: boolean;
}

const SCHEMA: OptionsSchema = {
  names: { type: 'string-or-strings', required: true },
  state: { type: 'string', values: ['present', 'absent', 'latest'] },
  updateCache: { type: 'boolean' },
  cacheValidTime: { type: 'number' },
  installRecommends: { type: 'boolean' },
  purge: { type: 'boolean' },
};

export const DEFAULT_CACHE_VALID_TIME = 86400;

/** What every manager accepts; no leading dash, so that a name is never read as an option. */
const PACKAGE_NAME = /^[A-Za-z0-9@_+][A-Za-z0-9@._+:/-]*$/;

type Action = 'ok' | 'install' | 'upgrade' | 'remove';

interface Verdict {
  pkg: PackageInfo;
  action: Action;
  /** How it stands now, for the reason. */
  note: string;
}

/** "45 s", "12 min", "3 h", "2 d": how old the index is, as a person would say it. */
export function duration(seconds: number): string {
  // Limits are round numbers of seconds: 86400 reads better as "1 d" than "24 h".
  if (seconds >= 86400 && seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

const installed = (pkg: PackageInfo): boolean => (pkg.planned ? pkg.planned.installed : pkg.status === 'installed');

/** dpkg's in-between states: files on disk, but not a working install. */
const PARTIAL = ['half-installed', 'unpacked', 'half-configured'];

function judge(pkg: PackageInfo, plan: PackagesPlan): Verdict {
  const by = pkg.planned ? ` by "${pkg.planned.by}"` : '';
  const version = pkg.version ? ` ${pkg.version}` : '';
  if (plan.state === 'absent') {
    if (pkg.planned && !pkg.planned.installed) return { pkg, action: 'ok', note: `${pkg.name} removed${by}` };
    if (installed(pkg)) return { pkg, action: 'remove', note: `${pkg.name}${pkg.planned ? ` (installed${by})` : version}` };
    if (PARTIAL.includes(pkg.status)) return { pkg, action: 'remove', note: `${pkg.name}${version} (${pkg.status})` };
    if (pkg.status === 'config-files') {
      return plan.purge
        ? { pkg, action: 'remove', note: `${pkg.name} (config files left behind)` }
        : { pkg, action: 'ok', note: `${pkg.name} not installed (config files left; purge: true removes them)` };
    }
    return { pkg, action: 'ok', note: `${pkg.name} not installed` };
  }
  if (pkg.planned?.installed) return { pkg, action: 'ok', note: `${pkg.name} installed${by}` };
  if (!installed(pkg)) {
    const candidate = pkg.candidate && pkg.candidate !== '(none)' ? ` ${pkg.candidate}` : '';
    const state = pkg.status === 'not-installed' ? '' : ` (${pkg.status === 'config-files' ? 'config files only' : pkg.status})`;
    return { pkg, action: 'install', note: `${pkg.name}${candidate}${state}` };
  }
  if (plan.state === 'latest' && pkg.upgrade && !pkg.held) return { pkg, action: 'upgrade', note: `${pkg.name}${version} → ${pkg.upgrade}` };
  const newest = plan.state !== 'latest' ? '' : pkg.held ? ' and held (apt-mark hold), so not upgraded' : ', the newest in the index';
  return { pkg, action: 'ok', note: `${pkg.name}${version} installed${newest}` };
}

/** Why the index is refreshed first, or undefined when it is not. */
function refreshReason(plan: PackagesPlan, fact: PackagesFact): string | undefined {
  if (plan.updateCache) return 'updateCache';
  if (fact.manager !== 'apt') return undefined;
  if (!fact.indexFiles) return 'there is none yet';
  const limit = plan.cacheValidTime;
  if (fact.indexAge === undefined) return 'its age is unknown';
  if (fact.indexAge > limit) return `last refreshed ${duration(fact.indexAge)} ago, limit ${duration(limit)}`;
  return undefined;
}

const APT_OPTIONS = raw('-y -q -o DPkg::Lock::Timeout=120');
const DEBIAN = raw('DEBIAN_FRONTEND=noninteractive');

interface Commands {
  refresh: Shell;
  install(names: string[]): Shell;
  /** Only where `install` does not also upgrade. */
  upgrade?(names: string[]): Shell;
  remove(names: string[]): Shell;
}

function commands(manager: PackageManager, plan: PackagesPlan, fact: PackagesFact): Commands {
  switch (manager) {
    case 'apt': {
      // On a host without systemd a service package starts its daemon from the postinst, and a daemon
      // that keeps apt-get's stdout (mariadb's init script pipes into logger) would hold the SSH
      // channel open: the output goes to a file instead.
      const recommends = plan.installRecommends === false ? raw(' --no-install-recommends') : raw('');
      return {
        refresh: sh`apt-get update -q -o DPkg::Lock::Timeout=120 && mkdir -p /var/lib/apt/periodic && touch ${APT_STAMP}`,
        install: (n) =>
          outputInFile(sh`${DEBIAN} apt-get install ${APT_OPTIONS} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold${recommends} ${n}`),
        remove: (n) => outputInFile(sh`${DEBIAN} apt-get ${raw(plan.purge ? 'purge' : 'remove')} ${APT_OPTIONS} ${n}`),
      };
    }
    case 'dnf':
    case 'yum': {
      const m = raw(manager);
      return { refresh: sh`${m} -q makecache`, install: (n) => sh`${m} -y install ${n}`, upgrade: (n) => sh`${m} -y upgrade ${n}`, remove: (n) => sh`${m} -y remove ${n}` };
    }
    case 'apk':
      return { refresh: sh`apk update -q`, install: (n) => sh`apk add -q ${n}`, upgrade: (n) => sh`apk add -q -u ${n}`, remove: (n) => sh`apk del -q ${n}` };
    case 'zypper':
      return { refresh: sh`zypper -n refresh`, install: (n) => sh`zypper -n install ${n}`, upgrade: (n) => sh`zypper -n update ${n}`, remove: (n) => sh`zypper -n remove ${n}` };
    case 'pacman':
      // -Sy without -u is the partial upgrade Arch warns of: there, prefer upgrading the whole system.
      return { refresh: sh`pacman -Sy --noconfirm`, install: (n) => sh`pacman -S --noconfirm --needed ${n}`, remove: (n) => sh`pacman -R --noconfirm ${n}` };
    case 'brew': {
      // No auto-update: the index is refreshed when the task says so, not whenever brew likes.
      const brew = sh`HOMEBREW_NO_AUTO_UPDATE=1 ${fact.brew ?? 'brew'}`;
      return { refresh: sh`${brew} update`, install: (n) => sh`${brew} install ${n}`, upgrade: (n) => sh`${brew} upgrade ${n}`, remove: (n) => sh`${brew} uninstall ${n}` };
    }
  }
}

const names = (verdicts: readonly Verdict[]): string[] => verdicts.map((v) => v.pkg.name);
const exec = (command: Shell, label: string): Step => ({ kind: 'exec', command, label });

export function decidePackages(plan: PackagesPlan, fact: PackagesFact, context: Pick<DecideContext, 'become'>): Decision {
  const manager = fact.manager;
  if (!manager) {
    throw new TaskFailure(`no package manager found: looked for apt-get, dnf, yum, apk, zypper, pacman and brew${fact.os ? ` (os ${fact.os})` : ''}`);
  }
  if (manager === 'brew' && context.become) throw new TaskFailure('brew refuses to run as root: set become: false on this task');
  const verdicts = fact.packages.map((pkg) => judge(pkg, plan));
  const todo = verdicts.filter((v) => v.action !== 'ok');
  const fine = verdicts.filter((v) => v.action === 'ok');
  const refresh = plan.state === 'absent' ? undefined : refreshReason(plan, fact);
  // With latest, a stale index hides what is newest: refresh it and let the manager decide.
  const blind = plan.state === 'latest' && refresh !== undefined;
  if (todo.length === 0 && !blind) return noop(fine.map((v) => v.note).join(', '));

  for (const v of todo) {
    if (manager === 'apt' && v.action === 'install' && v.pkg.candidate === undefined && refresh === undefined && !v.pkg.planned) {
      throw new TaskFailure(
        `package ${v.pkg.name} is not in the package index (refreshed ${fact.indexAge === undefined ? 'at an unknown time' : `${duration(fact.indexAge)} ago`}): ` +
          'check the name, or set updateCache: true where an earlier task adds its repository',
      );
    }
  }
  const cmd = commands(manager, plan, fact);
  const steps: Step[] = [];
  const parts: string[] = [];
  if (refresh !== undefined) {
    steps.push(exec(cmd.refresh, 'refresh the package index'));
    parts.push(`refresh the package index first (${refresh})`);
  }
  const effects: Effect[] = [];
  if (plan.state === 'absent') {
    steps.push(exec(cmd.remove(names(todo)), `remove ${names(todo).join(', ')}`));
    parts.unshift(`${plan.purge && manager === 'apt' ? 'purge' : 'remove'} ${todo.map((v) => v.note).join(', ')}`);
    for (const v of todo) effects.push({ kind: 'package', name: v.pkg.name, installed: false });
  } else {
    const installs = todo.filter((v) => v.action === 'install');
    const upgrades = todo.filter((v) => v.action === 'upgrade');
    // Blind: every name goes to the manager, which installs what the refreshed index has newer.
    const rest = blind ? fine.filter((v) => installed(v.pkg) && !v.pkg.planned) : [];
    const together = cmd.upgrade === undefined ? [...installs, ...upgrades, ...rest] : installs;
    const apart = cmd.upgrade === undefined ? [] : [...upgrades, ...rest];
    if (together.length > 0) steps.push(exec(cmd.install(names(together)), `install ${names(together).join(', ')}`));
    if (apart.length > 0) steps.push(exec(cmd.upgrade!(names(apart)), `upgrade ${names(apart).join(', ')}`));
    if (installs.length > 0) parts.unshift(`install ${installs.map((v) => v.note).join(', ')}`);
    if (upgrades.length > 0) parts.splice(installs.length > 0 ? 1 : 0, 0, `upgrade ${upgrades.map((v) => v.note).join(', ')}`);
    if (rest.length > 0) parts.push(`then install the newest ${rest.map((v) => `${v.pkg.name} (${v.pkg.version ?? '?'} now)`).join(', ')}`);
    for (const v of installs) effects.push({ kind: 'package', name: v.pkg.name, installed: true });
  }
  const unchanged = fine.filter((v) => !(blind && installed(v.pkg) && !v.pkg.planned));
  if (unchanged.length > 0) parts.push(`already: ${unchanged.map((v) => v.note).join(', ')}`);
  return change(parts.join('; '), steps, { effects });
}

function toPlan(o: PackagesOptions): PackagesPlan {
  return {
    names: [...new Set(typeof o.names === 'string' ? [o.names] : o.names)],
    state: o.state ?? 'present',
    updateCache: o.updateCache ?? false,
    cacheValidTime: o.cacheValidTime ?? DEFAULT_CACHE_VALID_TIME,
    ...(o.installRecommends !== undefined ? { installRecommends: o.installRecommends } : {}),
    purge: o.purge ?? false,
  };
}

export const packagesModule = defineModule<PackagesOptions, PackagesPlan, { packages: FactCall<PackagesFact> }>({
  name: 'packages',
  schema: SCHEMA,
  describe: (o) => {
    const list = (typeof o.names === 'string' ? [o.names] : o.names).join(', ');
    return o.state === 'absent' ? `remove ${list}` : o.state === 'latest' ? `install the newest ${list}` : `install ${list}`;
  },
  prepare: toPlan,
  facts: (plan) => ({
    packages: packagesFact({ names: plan.names, candidates: plan.state === 'absent' ? 'none' : plan.state === 'latest' ? 'all' : 'missing' }),
  }),
  decide: (plan, facts, context) => decidePackages(plan, facts.packages, context),
});

function check(o: PackagesOptions): string | undefined {
  const list = typeof o.names === 'string' ? [o.names] : o.names;
  if (list.length === 0) return 'names must not be empty';
  const bad = list.find((n) => !PACKAGE_NAME.test(n));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a package name`;
  if (o.cacheValidTime !== undefined && !(o.cacheValidTime >= 0)) return 'cacheValidTime must be a number of seconds, 0 or more';
  if (o.purge && o.state !== 'absent') return 'purge goes with state: "absent"';
  return undefined;
}

/** Installs, upgrades or removes packages. See the module's TSDoc above. */
export function packages(options: PackagesOptions & CommonOptions): Task<PackagesOptions> {
  return buildTask('packages', SCHEMA, options, check);
}
