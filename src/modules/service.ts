/**
 * `service`: makes sure a service runs (or not), and starts at boot (or not).
 *
 * Options:
 * - `name` (required): the service (`nginx`, `mariadb`), or a label for a custom service. The task
 *   is shown by its description; handlers of this module are notified through `listen`.
 * - `state`: `started` and `stopped` change only what differs; `restarted` and `reloaded` are
 *   actions and always change (for handlers). Reloading a service that is not running starts it.
 * - `enabled`: start at boot (`systemctl enable`, `update-rc.d NAME defaults` + `enable`, or
 *   `chkconfig NAME on`) or not. System services only; give `state`, `enabled` or both.
 *
 * The manager is systemd when /run/systemd/system exists, else the SysV script /etc/init.d/NAME,
 * else brew services on a Mac. A missing service fails the task, except in a dry-run where an earlier
 * task installs a package that may bring it: then the plan says so, and what it would do.
 *
 * Custom services (programs that are not system services), given `start` and `pidFile`:
 * - `start`: a string, run by `sh -c` as written, or an argv array. It runs in a session of its own
 *   with stdin from /dev/null and its output appended to `log`, so that it outlives the SSH session
 *   and does not hold the channel open; the step then waits (up to `timeout`) until the pid file
 *   names a live process, and fails with the log's tail when the command fails first.
 * - `pidFile`: written by the program (or its start script); relative paths are in `cwd`.
 * - `stop`: the stop command; default `kill -TERM` of the pid. Either way the step then waits up to
 *   `timeout` for the process to be gone, and fails when it is not.
 * - `reload`: a reload command; without one, `reloaded` restarts.
 * - `cwd`; `env` (secrets travel over stdin, as with `command`); `user` (run as this user through
 *   runuser or su, so the task needs root); `log` (default: the pid file with `.out` for `.pid`);
 *   `match` (a substring of the process's command line, so that a recycled pid in a stale pid file
 *   is neither taken for the service nor killed); `timeout` (seconds, default 60).
 *
 * @example
 * service({ name: 'nginx', state: 'started', enabled: true })
 * service({ name: 'is-node1', state: 'started', start: ['bin/wso2server.sh', 'start'], stop: ['bin/wso2server.sh', 'stop'],
 *   cwd: '/opt/wso2is', pidFile: 'wso2carbon.pid', user: 'wso2', env: { JAVA_HOME: '/usr/lib/jvm/java-17-openjdk-amd64' }, match: 'carbon' })
 */
import { posix } from 'node:path';
import { PROCESS_FUNCTIONS, processFact, serviceFact, type ProcessFact, type ServiceFact } from '../facts/service.js';
import type { FactCall } from '../facts/define.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { join, raw, sh, type Shell } from '../shell/quote.js';
import { isSecret, type Secret } from '../shell/secret.js';
import { commandShell } from './command.js';
import { change, noop, TaskFailure, type Decision, type Step } from './decision.js';
import { defineModule, type DecideContext } from './define.js';

export type ServiceState = 'started' | 'stopped' | 'restarted' | 'reloaded';
type Cmd = string | string[];

export interface ServiceOptions {
  name: string;
  state?: ServiceState;
  enabled?: boolean;
  start?: Cmd;
  stop?: Cmd;
  reload?: Cmd;
  pidFile?: string;
  cwd?: string;
  env?: Record<string, string | Secret>;
  user?: string;
  log?: string;
  match?: string;
  timeout?: number;
}

export interface SystemServicePlan {
  kind: 'system';
  name: string;
  state?: ServiceState;
  enabled?: boolean;
}

export interface CustomServicePlan {
  kind: 'custom';
  name: string;
  state: ServiceState;
  start: Cmd;
  stop?: Cmd;
  reload?: Cmd;
  /** Absolute. */
  pidFile: string;
  log: string;
  cwd?: string;
  env?: Record<string, string | Secret>;
  user?: string;
  match?: string;
  timeout: number;
}

export type ServicePlan = SystemServicePlan | CustomServicePlan;

const SCHEMA: OptionsSchema = {
  name: { type: 'string', required: true },
  state: { type: 'string', values: ['started', 'stopped', 'restarted', 'reloaded'] },
  enabled: { type: 'boolean' },
  start: { type: 'string-or-strings' },
  stop: { type: 'string-or-strings' },
  reload: { type: 'string-or-strings' },
  pidFile: { type: 'string' },
  cwd: { type: 'string' },
  env: { type: 'record' },
  user: { type: 'string' },
  log: { type: 'string' },
  match: { type: 'string' },
  timeout: { type: 'number' },
};

export const DEFAULT_TIMEOUT = 60;
const SERVICE_NAME = /^[A-Za-z0-9_@][A-Za-z0-9_@.:-]*$/;
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
const CUSTOM_ONLY = ['start', 'stop', 'reload', 'pidFile', 'cwd', 'env', 'user', 'log', 'match', 'timeout'] as const;

/**
 * Runs a command with its output in a temp file, shown once it is done. A daemon it starts (an init
 * script's, or a package's postinst under SysV) may keep its stdout: mariadb's script pipes into a
 * `logger` that lives as long as the server, and holding our stdout would keep the SSH channel open.
 */
export function outputInFile(command: Shell): Shell {
  // A subshell, so that an `exit` in the command still leaves its output to show.
  return sh`t=$(mktemp) || exit 1
( ${command}
) </dev/null >"$t" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then cat "$t"; else cat "$t" >&2; fi
rm -f "$t"
exit "$rc"`;
}

const exec = (command: Shell, label: string, extra: Partial<Extract<Step, { kind: 'exec' }>> = {}): Step => ({ kind: 'exec', command, label, ...extra });

/** The action's verb on the host's manager; `reload` is a restart where there is no reload. */
function actionCommand(fact: ServiceFact, verb: 'start' | 'stop' | 'restart' | 'reload'): Shell {
  const { name } = fact;
  switch (fact.manager) {
    case 'systemd':
      return sh`systemctl ${verb} ${name}`;
    case 'brew':
      return sh`HOMEBREW_NO_AUTO_UPDATE=1 ${fact.brew ?? 'brew'} services ${verb === 'reload' ? 'restart' : verb} ${name}`;
    default:
      // Through `service` where there is one: it runs the script with a clean environment.
      return outputInFile(fact.tools?.service === false ? sh`${`/etc/init.d/${name}`} ${verb}` : sh`service ${name} ${verb}`);
  }
}

function enableCommand(fact: ServiceFact, enable: boolean): Shell {
  const { name } = fact;
  if (fact.manager === 'systemd') return sh`systemctl ${enable ? 'enable' : 'disable'} ${name}`;
  if (fact.manager === 'brew') throw new TaskFailure('enabled is not for brew services: `brew services start` also starts it at login');
  if (fact.tools?.updateRcD !== false) return enable ? sh`update-rc.d ${name} defaults && update-rc.d ${name} enable` : sh`update-rc.d ${name} disable`;
  if (fact.tools.chkconfig) return sh`chkconfig ${name} ${enable ? 'on' : 'off'}`;
  throw new TaskFailure(`cannot ${enable ? 'enable' : 'disable'} ${name}: neither update-rc.d nor chkconfig is on the host`);
}

function missing(fact: ServiceFact): string {
  if (fact.manager === 'systemd') return `systemd has no unit ${fact.name}`;
  if (fact.manager === 'brew') return `brew services does not know ${fact.name}`;
  return `no systemd, and no /etc/init.d/${fact.name}`;
}

export function decideSystemService(plan: SystemServicePlan, host: ServiceFact, context: Pick<DecideContext, 'become'>): Decision {
  let fact = host;
  let prefix = '';
  if (!fact.exists) {
    if (!fact.comesWith) throw new TaskFailure(`service ${plan.name} not found: ${missing(fact)}`);
    // Dry-run only: the package is planned, not there. What it brings is known once it is installed.
    prefix = `${plan.name} does not exist yet; it may come with package ${fact.comesWith.package} ("${fact.comesWith.by}"), then: `;
    fact = { ...fact, manager: fact.manager ?? 'sysv', exists: true, running: false, enabled: false, status: 'not installed' };
  }
  if (fact.manager === 'brew' && context.become) throw new TaskFailure('brew refuses to run as root: set become: false on this task');
  if (fact.enabledState === 'masked' && (plan.state !== 'stopped' || plan.enabled)) {
    throw new TaskFailure(`${plan.name} is masked: unmask it first (systemctl unmask ${plan.name})`);
  }
  if (fact.manager === 'sysv' && fact.statusCode === 4) {
    throw new TaskFailure(`cannot tell whether ${plan.name} runs: ${fact.status} (not root? set become)`);
  }
  const planned = fact.planned ? ` (as "${fact.planned}" leaves it)` : '';
  const now = fact.running ? `${plan.name} running${planned}` : `${plan.name} not running${fact.status && !fact.planned ? ` (${fact.status})` : planned}`;
  const ok: string[] = [];
  const todo: string[] = [];
  const steps: Step[] = [];
  let running = fact.running ?? false;
  if (plan.enabled !== undefined) {
    const word = fact.enabledState && fact.enabledState !== 'enabled' && fact.enabled ? fact.enabledState : undefined;
    if (plan.enabled === fact.enabled) ok.push(plan.enabled ? `enabled${word ? ` (${word})` : ''}` : 'not enabled');
    else {
      todo.push(plan.enabled ? 'not enabled → enable' : 'enabled → disable');
      steps.push(exec(enableCommand(fact, plan.enabled), `${plan.enabled ? 'enable' : 'disable'} ${plan.name}`));
    }
  }
  const act = (verb: 'start' | 'stop' | 'restart' | 'reload', text: string): void => {
    todo.unshift(`${now} → ${text}`);
    steps.push(exec(actionCommand(fact, verb), `${verb} ${plan.name}`));
    running = verb !== 'stop';
  };
  if (plan.state === 'started') fact.running ? ok.unshift(now) : act('start', 'start');
  else if (plan.state === 'stopped') fact.running ? act('stop', 'stop') : ok.unshift(now);
  else if (plan.state === 'restarted') act(fact.running ? 'restart' : 'start', fact.running ? 'restart' : 'start');
  else if (plan.state === 'reloaded') fact.running ? act('reload', 'reload') : act('start', 'start (reloaded, but not running)');
  else ok.unshift(now);
  if (steps.length === 0) return noop(ok.join('; '));
  return change(prefix + [...todo, ...ok].join('; '), steps, { effects: [{ kind: 'service', name: plan.name, exists: true, running }] });
}

/** `set --` to the argv that runs a custom service's command: as `user` where given. */
function argv(plan: CustomServicePlan, cmd: Cmd): Shell {
  const text = commandShell(cmd).text;
  if (!plan.user) return sh`set -- sh -c ${text}`;
  return sh`if [ "$(id -un)" = ${plan.user} ]; then set -- sh -c ${text}
elif command -v runuser >/dev/null 2>&1; then set -- runuser -u ${plan.user} -- sh -c ${text}
else set -- su -s /bin/sh -c ${text} ${plan.user}; fi`;
}

function preamble(plan: CustomServicePlan): Shell {
  return join([sh`n=${plan.name}`, sh`pf=${plan.pidFile}`, sh`match=${plan.match ?? ''}`, raw(PROCESS_FUNCTIONS)], '\n');
}

/**
 * A session of its own (setsid) keeps the daemon from the SSH session's hangup; nohup only where
 * there is no setsid (macOS), since a HUP ignored from the start cannot be trapped by a shell
 * script, and some programs reload on HUP.
 */
export function customStart(plan: CustomServicePlan): Shell {
  // date counts whole seconds: the deadline's + 1 makes every wait at least the timeout.
  return sh`${preamble(plan)}
log=${plan.log}
fail() { echo "$n: $1; the end of $log:" >&2; tail -n 20 "$log" >&2; exit 1; }
p=$(pid_of)
if alive "$p" "$match"; then echo "$n already running, pid $p"; exit 0; fi
: >>"$log" || exit 1
rm -f "$pf"
${argv(plan, plan.start)}
if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; else set -- nohup "$@"; fi
"$@" </dev/null >>"$log" 2>&1 &
l=$!
end=$(($(date +%s) + ${plan.timeout} + 1))
while :; do
  p=$(pid_of)
  if alive "$p" "$match"; then echo "$n started, pid $p"; exit 0; fi
  if [ -n "$l" ] && ! alive "$l"; then
    wait "$l"; rc=$?; l=
    if [ "$rc" -ne 0 ]; then fail "the start command exited $rc"; fi
  fi
  if [ "$(date +%s)" -ge "$end" ]; then fail "no live process in $pf ${plan.timeout} s after the start"; fi
  sleep 0.2 2>/dev/null || sleep 1
done`;
}

export function customStop(plan: CustomServicePlan): Shell {
  const stop = plan.stop
    ? sh`${argv(plan, plan.stop)}
t=$(mktemp) || exit 1
"$@" </dev/null >"$t" 2>&1
rc=$?
cat "$t"; rm -f "$t"
if [ "$rc" -ne 0 ]; then echo "$n: the stop command exited $rc" >&2; exit "$rc"; fi`
    : raw('kill -TERM "$p" || exit 1');
  return sh`${preamble(plan)}
p=$(pid_of)
if ! alive "$p" "$match"; then echo "$n not running"; exit 0; fi
${stop}
end=$(($(date +%s) + ${plan.timeout} + 1))
while alive "$p" "$match"; do
  if [ "$(date +%s)" -ge "$end" ]; then echo "$n (pid $p) still running ${plan.timeout} s after the stop command" >&2; exit 1; fi
  sleep 0.2 2>/dev/null || sleep 1
done
if [ "$(pid_of)" = "$p" ]; then rm -f "$pf"; fi
echo "$n stopped, was pid $p"`;
}

export function decideCustomService(plan: CustomServicePlan, fact: ProcessFact): Decision {
  const { name } = plan;
  const how = { ...(plan.cwd ? { cwd: plan.cwd } : {}), ...(plan.env ? { env: plan.env } : {}) };
  const start = exec(customStart(plan), `start ${name}`, how);
  const stop = exec(customStop(plan), `stop ${name}`, how);
  const now = fact.planned
    ? `${name} ${fact.running ? 'started' : 'stopped'} by "${fact.planned}"`
    : fact.running
      ? `${name} running, pid ${fact.pid}`
      : `${name} not running (${fact.stale ? `pid file ${plan.pidFile}: ${fact.stale}` : `no pid file ${plan.pidFile}`})`;
  const effects = (running: boolean) => ({ effects: [{ kind: 'service' as const, name, exists: true, running }] });
  if (!fact.running) {
    if (plan.state === 'stopped') return noop(now);
    const note = plan.state === 'started' ? 'start' : `start (${plan.state}, but not running)`;
    return change(`${now} → ${note}`, [start], effects(true));
  }
  switch (plan.state) {
    case 'started':
      return noop(now);
    case 'stopped':
      return change(`${now} → stop`, [stop], effects(false));
    case 'restarted':
      return change(`${now} → restart`, [stop, start], effects(true));
    case 'reloaded':
      if (!plan.reload) return change(`${now} → restart (no reload command)`, [stop, start], effects(true));
      return change(`${now} → reload`, [exec(outputInFile(join([argv(plan, plan.reload), raw('"$@"')], '\n')), `reload ${name}`, how)], effects(true));
  }
}

function toPlan(o: ServiceOptions): ServicePlan {
  if (o.start === undefined) return { kind: 'system', name: o.name, ...(o.state ? { state: o.state } : {}), ...(o.enabled !== undefined ? { enabled: o.enabled } : {}) };
  const inCwd = (p: string) => (p.startsWith('/') ? p : posix.join(o.cwd ?? '/', p));
  const pidFile = inCwd(o.pidFile!);
  const optional = Object.fromEntries(Object.entries({ stop: o.stop, reload: o.reload, cwd: o.cwd, env: o.env, user: o.user, match: o.match }).filter(([, v]) => v !== undefined));
  return {
    kind: 'custom',
    name: o.name,
    state: o.state!,
    start: o.start,
    pidFile,
    log: o.log !== undefined ? inCwd(o.log) : pidFile.replace(/\.pid$/, '') + '.out',
    timeout: o.timeout ?? DEFAULT_TIMEOUT,
    ...optional,
  };
}

type Facts = { service?: FactCall<ServiceFact>; process?: FactCall<ProcessFact> };

export const serviceModule = defineModule<ServiceOptions, ServicePlan, Facts>({
  name: 'service',
  schema: SCHEMA,
  describe: (o) => `service ${o.name}${o.state ? ` ${o.state}` : ''}${o.enabled === undefined ? '' : o.enabled ? `${o.state ? ',' : ''} enabled` : `${o.state ? ',' : ''} disabled`}`,
  prepare: toPlan,
  facts: (plan) =>
    plan.kind === 'system'
      ? { service: serviceFact({ name: plan.name }) }
      : { process: processFact({ name: plan.name, pidFile: plan.pidFile, ...(plan.match ? { match: plan.match } : {}) }) },
  decide: (plan, facts, context) => (plan.kind === 'system' ? decideSystemService(plan, facts.service!, context) : decideCustomService(plan, facts.process!)),
});

function check(o: ServiceOptions): string | undefined {
  if (o.name.trim() === '' || o.name.includes('\n')) return 'name must be a non-empty line';
  if (o.state === undefined && o.enabled === undefined) return 'give state, enabled or both';
  if (o.start === undefined) {
    const stray = CUSTOM_ONLY.find((k) => o[k] !== undefined);
    if (stray) return `option "${stray}" is for custom services, which need "start" and "pidFile"`;
    if (!SERVICE_NAME.test(o.name)) return `${JSON.stringify(o.name)} is not a service name`;
    return undefined;
  }
  if (o.pidFile === undefined) return 'a custom service (with "start") needs "pidFile"';
  if (o.enabled !== undefined) return 'enabled is for system services: a custom service starts when a playbook starts it';
  if (o.state === undefined) return 'a custom service needs "state"';
  for (const key of ['start', 'stop', 'reload'] as const) {
    const cmd = o[key];
    if (cmd !== undefined && (typeof cmd === 'string' ? cmd.trim() === '' : cmd.length === 0)) return `${key} must not be empty`;
  }
  if (o.cwd !== undefined && !o.cwd.startsWith('/')) return `cwd must be an absolute path, not ${JSON.stringify(o.cwd)}`;
  for (const [key, path] of [['pidFile', o.pidFile], ['log', o.log]] as const) {
    if (path !== undefined && !path.startsWith('/') && o.cwd === undefined) return `${key} must be absolute, or relative to a cwd`;
  }
  if (o.user !== undefined && !USER_NAME.test(o.user)) return `${JSON.stringify(o.user)} is not a user name`;
  if (o.timeout !== undefined && !(Number.isInteger(o.timeout) && o.timeout > 0)) return 'timeout must be a whole number of seconds, more than 0';
  const badEnv = Object.entries(o.env ?? {}).find(([, v]) => typeof v !== 'string' && !isSecret(v));
  if (badEnv) return `env ${badEnv[0]} must be a string or a secret`;
  return undefined;
}

/** Starts, stops, restarts, reloads or enables a service. See the module's TSDoc above. */
export function service(options: ServiceOptions & CommonOptions): Task<ServiceOptions> {
  return buildTask('service', SCHEMA, options, check);
}
