import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runTask, type HostSession, type TaskOutcome } from '../../src/engine/task-runner.js';
import type { RunEvent } from '../../src/engine/events.js';
import { EffectStore } from '../../src/facts/effects.js';
import type { Host } from '../../src/inventory/types.js';
import { databaseModule } from '../../src/modules/database.js';
import type { ModuleDefinition, PrepareContext } from '../../src/modules/define.js';
import { sqlScriptsModule } from '../../src/modules/sql-scripts.js';
import type { Task } from '../../src/playbook/types.js';
import { localTransport } from '../../src/transport/local.js';

/**
 * Runs database/sqlScripts tasks through the engine's own task runner on this machine (the local
 * transport), as a host would: facts in one round trip, decide, steps through wrap(). The modules are
 * looked up here rather than in the registry, which the lead wires.
 */
const MODULES: Record<string, ModuleDefinition> = { database: databaseModule, sqlScripts: sqlScriptsModule };

const HOST: Host = {
  name: 'local',
  address: '127.0.0.1',
  groups: [],
  vars: {},
  become: false,
  connection: { transport: 'local', address: '127.0.0.1', port: 22, user: 'root', identityFiles: [], knownHosts: '/dev/null', hostKeyChecking: 'yes', proxyJump: [], connectTimeout: 10 } as never,
};

export interface LocalRun extends TaskOutcome {
  events: RunEvent[];
}

export function prepareContext(baseDir: string): PrepareContext {
  const resolveLocal = (p: string): string => (path.isAbsolute(p) ? p : path.join(baseDir, p));
  return { host: { name: 'local', address: '127.0.0.1', groups: [], vars: {} }, vars: {}, resolveLocal, readLocal: (p) => readFile(resolveLocal(p)) };
}

export async function runLocal(task: Task, options: { dryRun?: boolean; effects?: EffectStore; baseDir?: string; name?: string } = {}): Promise<LocalRun> {
  const module = MODULES[task.module]!;
  const plan = module.prepare ? await module.prepare(task.options, prepareContext(options.baseDir ?? process.cwd())) : task.options;
  const events: RunEvent[] = [];
  const session: HostSession = {
    host: HOST,
    transport: localTransport('local'),
    effects: options.effects ?? new EffectStore(),
    nonce: randomBytes(8).toString('hex'),
    dryRun: options.dryRun ?? false,
    now: new Date(),
    emit: (e) => events.push(e),
  };
  const name = options.name ?? task.common.name ?? module.describe(task.options);
  const outcome = await runTask(session, { task, module, plan, name, notify: [], handler: false } as never, {});
  await session.transport.close?.();
  return { ...outcome, events };
}

/** SQL as root through the socket, for setting up and checking: returns stdout rows. */
export function mysqlHere(sql: string): string {
  const r = spawnSync('mysql', ['--batch', '--skip-column-names', '-e', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mysql failed: ${r.stderr}`);
  return r.stdout;
}

export function psqlHere(sql: string, database = 'postgres'): string {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql], { encoding: 'utf8', cwd: '/' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout;
}

const answers = (command: string, args: string[], cwd?: string): boolean => {
  const r = spawnSync(command, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  return r.status === 0;
};

/** Why a real MariaDB/MySQL test cannot run here, or undefined when the server answers as root. */
export function mysqlMissing(): string | undefined {
  if (!answers('sh', ['-c', 'command -v mysql'])) return 'no mysql client (apt-get install mariadb-server)';
  return answers('mysql', ['-e', 'SELECT 1']) ? undefined : 'MariaDB is not running (service mariadb start)';
}

export function postgresMissing(): string | undefined {
  if (!answers('sh', ['-c', 'command -v psql && id postgres'])) return 'no PostgreSQL (apt-get install postgresql)';
  return answers('runuser', ['-u', 'postgres', '--', 'psql', '-X', '-c', 'SELECT 1'], '/') ? undefined : 'PostgreSQL is not running (service postgresql start)';
}

/** The real-server tests need MariaDB and PostgreSQL running (.ci/run starts them): a missing one fails. */
export function requireServer(missing: string | undefined): void {
  if (missing) throw new Error(`cannot run this test: ${missing}`);
}

/** A database name of this test run, so runs and tests do not see each other's. */
export const uniqueName = (prefix: string): string => `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
