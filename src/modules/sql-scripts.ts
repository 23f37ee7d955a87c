/**
 * `sqlScripts`: runs SQL scripts in a database, each exactly once, in order.
 *
 * Options:
 * - `engine` (required): `mysql` (MySQL or MariaDB) or `postgresql`.
 * - `database` (required): the database the scripts run in; it must exist (see `database`).
 * - `scripts` (required): in order, each one of
 *   - a string: a local file, relative to the playbook's directory (then its parent);
 *   - `{ name?, path }`: the same, under another name;
 *   - `{ name?, fromArchive: { archive, entry } }`: an entry of a local zip (an IS pack), read on the
 *     control machine, so the database host needs no copy of the pack;
 *   - `{ name, content }`: SQL text.
 *   `name` is the script's key in the ledger; default the path or the archive entry. Names are unique.
 * - `loginUser`, `loginPassword`: how to log in (default: MySQL's root through the unix socket as OS
 *   root; PostgreSQL's postgres by peer authentication, through runuser).
 * - `role` (PostgreSQL): run the scripts as this role (SET ROLE), so that it owns the tables; default
 *   the database's owner, which `database` makes the application user.
 *
 * Scripts such as WSO2's (plain CREATE INDEX, INSERTs) cannot run twice, so each run is recorded with
 * the script's sha256 in the table `is_provision_ledger` of the database. A script already applied with
 * the same sha256 is skipped; one whose content changed since is refused, not re-run; one that failed
 * or never finished (status failed/running) is refused with what to do, because MySQL commits DDL
 * statement by statement and the database may hold part of it. PostgreSQL runs each script in one
 * transaction. The SQL reaches the host on stdin; mysql stops at its first error.
 *
 * @example
 * sqlScripts({
 *   engine: 'mysql',
 *   database: 'IdentityDB',
 *   scripts: ['identity/mysql.sql', 'identity/uma/mysql.sql', 'consent/mysql.sql'].map((s) => ({
 *     name: s,
 *     fromArchive: { archive: 'packs/wso2is-5.10.0.zip', entry: `wso2is-5.10.0/dbscripts/${s}` },
 *   })),
 * })
 */
import { sqlLedgerFact, type LedgerFact, type LedgerRow } from '../facts/database.js';
import { PlaybookError } from '../playbook/errors.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { isSecret, type Secret } from '../shell/secret.js';
import { change, noop, TaskFailure, type Decision } from './decision.js';
import { defineModule, type DecideContext, type PrepareContext } from './define.js';
import { sha256 } from './file-commands.js';
import { clientEnv, databaseNameProblem, ENGINE_LABEL, nameProblem, serverProblem, toSecret, type DatabaseEngine, type SqlLogin } from './sql-client.js';
import { forgetSql, LEDGER_TABLE, markAppliedSql, scriptRunCommand } from './sql-ledger.js';
import { readZipEntries } from './zip-entries.js';

export type SqlScript = string | { name?: string; path?: string; fromArchive?: { archive: string; entry: string }; content?: string };

export interface SqlScriptsOptions {
  engine: DatabaseEngine;
  database: string;
  scripts: SqlScript[];
  loginUser?: string;
  loginPassword?: string | Secret;
  role?: string;
}

export interface PreparedScript {
  name: string;
  sha256: string;
  content: Buffer;
}

export interface SqlScriptsPlan {
  engine: DatabaseEngine;
  database: string;
  scripts: PreparedScript[];
  login: SqlLogin;
  role?: string;
}

const SCHEMA: OptionsSchema = {
  engine: { type: 'string', required: true, values: ['mysql', 'postgresql'] },
  database: { type: 'string', required: true },
  scripts: { type: 'any', required: true },
  loginUser: { type: 'string' },
  loginPassword: { type: 'secret-or-string' },
  role: { type: 'string' },
};

const short = (hash: string): string => hash.slice(0, 12);

export function scriptName(script: SqlScript): string | undefined {
  if (typeof script === 'string') return script;
  return script.name ?? script.path ?? script.fromArchive?.entry;
}

function scriptProblem(script: SqlScript, i: number): string | undefined {
  const where = `scripts[${i}]`;
  if (typeof script === 'string') return script === '' ? `${where} must not be empty` : undefined;
  if (script === null || typeof script !== 'object' || Array.isArray(script)) return `${where} must be a path or an object`;
  const unknown = Object.keys(script).filter((k) => !['name', 'path', 'fromArchive', 'content'].includes(k));
  if (unknown.length > 0) return `${where}: unknown key "${unknown[0]}" (name, path, fromArchive, content)`;
  const sources = (['path', 'fromArchive', 'content'] as const).filter((k) => script[k] !== undefined);
  if (sources.length !== 1) return `${where} needs exactly one of path, fromArchive and content`;
  if (script.path !== undefined && typeof script.path !== 'string') return `${where}.path must be a string`;
  if (script.content !== undefined && typeof script.content !== 'string') return `${where}.content must be a string`;
  if (script.content !== undefined && script.name === undefined) return `${where}: a script given as content needs a name`;
  const archive = script.fromArchive;
  if (archive !== undefined && (typeof archive?.archive !== 'string' || typeof archive?.entry !== 'string')) {
    return `${where}.fromArchive needs { archive, entry } strings`;
  }
  return undefined;
}

function check(o: SqlScriptsOptions): string | undefined {
  const db = databaseNameProblem(o.engine, o.database);
  if (db) return db;
  if (!Array.isArray(o.scripts) || o.scripts.length === 0) return 'scripts must be a non-empty array';
  const seen = new Set<string>();
  for (const [i, script] of o.scripts.entries()) {
    const problem = scriptProblem(script, i);
    if (problem) return problem;
    const name = scriptName(script)!;
    const bad = nameProblem(`script name`, name, o.engine, 255);
    if (bad) return `scripts[${i}]: ${bad}`;
    if (seen.has(name)) return `two scripts are named ${JSON.stringify(name)}: names are their keys in the ledger`;
    seen.add(name);
  }
  if (o.role !== undefined && o.engine !== 'postgresql') return 'role is for postgresql only';
  if (o.loginPassword !== undefined && (isSecret(o.loginPassword) ? o.loginPassword.reveal() : o.loginPassword).includes('\n')) {
    return 'loginPassword must not hold a newline';
  }
  return undefined;
}

/** Reads every script on the control machine: files, and zip entries with one pass per archive. */
async function prepare(o: SqlScriptsOptions, context: PrepareContext): Promise<SqlScriptsPlan> {
  const fromArchives = new Map<string, string[]>();
  for (const s of o.scripts) {
    if (typeof s === 'object' && s.fromArchive) {
      const full = context.resolveLocal(s.fromArchive.archive);
      fromArchives.set(full, [...(fromArchives.get(full) ?? []), s.fromArchive.entry]);
    }
  }
  const entries = new Map<string, Map<string, Buffer>>();
  for (const [archive, names] of fromArchives) {
    try {
      entries.set(archive, await readZipEntries(archive, names));
    } catch (error) {
      throw new PlaybookError(`sqlScripts: cannot read ${archive}: ${(error as Error).message}`, context.origin);
    }
  }
  const scripts: PreparedScript[] = [];
  for (const s of o.scripts) {
    let content: Buffer;
    if (typeof s === 'string') content = await context.readLocal(s);
    else if (s.path !== undefined) content = await context.readLocal(s.path);
    else if (s.fromArchive) content = entries.get(context.resolveLocal(s.fromArchive.archive))!.get(s.fromArchive.entry)!;
    else content = Buffer.from(s.content ?? '');
    scripts.push({ name: scriptName(s)!, sha256: sha256(content), content });
  }
  const password = toSecret(o.loginPassword, 'loginPassword');
  return {
    engine: o.engine,
    database: o.database,
    scripts,
    login: { ...(o.loginUser !== undefined ? { user: o.loginUser } : {}), ...(password ? { password } : {}) },
    ...(o.role !== undefined ? { role: o.role } : {}),
  };
}

/** The error lines of the client's output (mysql also echoes the failed statement between dashes). */
export function errorSummary(error: string): string {
  const lines = error.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^-+$/.test(l));
  const errors = lines.filter((l) => /\bERROR\b/.test(l));
  return (errors.length > 0 ? errors : lines).slice(-2).join(' ');
}

function halfway(plan: SqlScriptsPlan, row: LedgerRow): string {
  const { engine, database } = plan;
  const what =
    row.status === 'running'
      ? `script ${row.name} was started at ${row.startedAt} UTC and never finished (its ledger row is still 'running': the run was cut off, or is still going)`
      : `script ${row.name} failed at ${row.finishedAt ?? row.startedAt} UTC${row.error ? `: ${errorSummary(row.error)}` : ''}`;
  if (engine === 'postgresql' && row.status === 'failed') {
    return `${what}. PostgreSQL ran it in one transaction and rolled it back, so ${database} holds none of it: fix the script, then forget the failed run with \`${forgetSql(engine, row.name)}\` in ${database} to run it again`;
  }
  if (engine === 'postgresql') {
    return (
      `${what}. PostgreSQL runs a script in one transaction, so ${database} holds all of it (if only marking it applied was lost) or none of it: ` +
      `check which, then in ${database} either mark it applied: \`${markAppliedSql(engine, row.name)}\`, or forget the run to run it again: \`${forgetSql(engine, row.name)}\``
    );
  }
  return (
    `${what}. ${ENGINE_LABEL[engine]} commits DDL statement by statement, so ${database} may hold part of the script; it is not re-run blindly. ` +
    `Either restore ${database} from a backup or drop and recreate it (database with state 'absent', then 'present') to run every script again, ` +
    `or, if you completed the script by hand, mark it applied in ${database}: \`${markAppliedSql(engine, row.name)}\``
  );
}

function changed(plan: SqlScriptsPlan, row: LedgerRow, now: string): string {
  return (
    `script ${row.name} changed since it was applied on ${row.finishedAt ?? row.startedAt} UTC (sha256 ${short(row.sha256)} → ${short(now)}); scripts are not re-run. ` +
    `To apply a new version, add the changes as a new script under a new name (the ledger keeps one row per name), ` +
    `or restore the original script; to start over, drop and recreate ${plan.database} (database with state 'absent', then 'present')`
  );
}

const listed = (scripts: readonly PreparedScript[]): string => scripts.map((s) => `${s.name} (sha256 ${short(s.sha256)})`).join(', ');

export function decideSqlScripts(plan: SqlScriptsPlan, fact: LedgerFact, context: Pick<DecideContext, 'dryRun'>): Decision {
  const { engine, database } = plan;
  if (fact.server !== 'up') throw new TaskFailure(serverProblem(engine, fact.server, fact.error, plan.login));
  if (!fact.database) {
    const dropped = fact.planned ? ` (it is dropped by ${fact.planned})` : '';
    throw new TaskFailure(`database ${database} does not exist${dropped}; create it first, with database({ engine: '${engine}', name: ${JSON.stringify(database)} })`);
  }
  const rows = new Map(fact.rows.map((r) => [r.name, r]));
  const pending: PreparedScript[] = [];
  const applied: PreparedScript[] = [];
  for (const script of plan.scripts) {
    const row = rows.get(script.name);
    if (!row) pending.push(script);
    else if (row.status !== 'applied') throw new TaskFailure(halfway(plan, row));
    else if (row.sha256 !== script.sha256) throw new TaskFailure(changed(plan, row, script.sha256));
    else applied.push(script);
  }
  const count = (n: number): string => `${n} script${n === 1 ? '' : 's'}`;
  if (pending.length === 0) return noop(`${count(applied.length)} applied in ${database}: ${listed(applied)}`);
  const planned = fact.planned ? ` (database ${database} is created by an earlier task, ${fact.planned})` : '';
  const already = applied.length > 0 ? `; already applied: ${applied.map((s) => s.name).join(', ')}` : '';
  const reason = `${context.dryRun ? 'would run' : 'ran'} ${count(pending.length)} in ${database}${pending.length > 1 ? ', once each' : ''}: ${listed(pending)}${already}${planned}`;
  const role = engine === 'postgresql' ? plan.role ?? ownerRole(fact, plan.login) : undefined;
  const env = clientEnv(engine, plan.login);
  return change(
    reason,
    pending.map((s) => ({
      kind: 'exec' as const,
      command: scriptRunCommand({ engine, database, login: plan.login, name: s.name, sha256: s.sha256, ...(role !== undefined ? { role } : {}) }),
      stdin: s.content,
      ...(Object.keys(env).length > 0 ? { env } : {}),
      label: `run ${s.name} in ${database}`,
    })),
  );
}

/** The owner of the database, when scripts must SET ROLE to it (not the login user itself). */
function ownerRole(fact: LedgerFact, login: SqlLogin): string | undefined {
  const owner = fact.owner;
  return owner !== undefined && owner !== (login.user ?? 'postgres') ? owner : undefined;
}

export const sqlScriptsModule = defineModule<SqlScriptsOptions, SqlScriptsPlan, { ledger: ReturnType<typeof sqlLedgerFact> }>({
  name: 'sqlScripts',
  schema: SCHEMA,
  describe: (o) => `sql scripts in ${o.database} (${o.scripts.length})`,
  prepare,
  facts: (plan) => ({ ledger: sqlLedgerFact({ engine: plan.engine, database: plan.database, login: plan.login }) }),
  decide: (plan, facts, context) => decideSqlScripts(plan, facts.ledger, context),
});

/** Runs SQL scripts in a database, each once, recorded in a ledger table. See the module's TSDoc above. */
export function sqlScripts(options: SqlScriptsOptions & CommonOptions): Task<SqlScriptsOptions> {
  return buildTask('sqlScripts', SCHEMA, options, check);
}

export { LEDGER_TABLE };
