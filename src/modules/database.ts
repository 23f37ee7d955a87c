/**
 * `database`: a database on a MySQL/MariaDB or PostgreSQL server, and a user with all privileges on it.
 *
 * Options:
 * - `engine` (required): `mysql` (MySQL or MariaDB) or `postgresql`.
 * - `name` (required): the database.
 * - `user`: an account to create and grant ALL on the database to; with PostgreSQL it also owns a
 *   database this task creates (so that it owns its public schema, and sqlScripts runs as it).
 * - `password`: the user's password (a string or a secret); needed when the user does not exist yet.
 *   It is set when the user is created; an existing user's password is not compared (that needs the
 *   password on the host) unless `updatePassword: 'always'` re-sets it on every run.
 * - `host` (MySQL): the client host pattern of the account, default `%`.
 * - `charset`, `collation`: of a database this task creates (PostgreSQL: encoding and LC_COLLATE/LC_CTYPE).
 *   For an existing MySQL database without tables, a different charset is changed with ALTER DATABASE;
 *   with tables it is an error, since ALTER DATABASE changes only the default of new tables.
 * - `state`: `present` (default) or `absent`: drops the database (and, MySQL, revokes the user's
 *   grant on it); the user is kept, since one user usually serves several databases.
 * - `loginUser`, `loginPassword`: how to log in (default: MySQL's root through the unix socket as OS
 *   root; PostgreSQL's postgres by peer authentication, through runuser).
 * - `updatePassword`: `onCreate` (default) or `always`.
 *
 * Everything is read with read-only SQL; the changes go in one client session, whose SQL (holding the
 * password) travels on stdin: the password is on no command line and shows as *** in the diff.
 * WSO2 IS's MySQL scripts need `charset: 'latin1'`: with MariaDB's default utf8mb4, the identity script
 * fails with "Specified key was too long; max key length is 3072 bytes".
 *
 * @example
 * database({ engine: 'mysql', name: 'IdentityDB', user: 'wso2', password: vars.db_password, charset: 'latin1' })
 */
import { randomBytes } from 'node:crypto';
import { databaseFact, userKey, type DatabaseFact } from '../facts/database.js';
import type { Effect } from '../facts/effects.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { isSecret, type Secret } from '../shell/secret.js';
import { sh } from '../shell/quote.js';
import { change, noop, TaskFailure, type Decision } from './decision.js';
import { defineModule } from './define.js';
import {
  clientEnv,
  clientFunction,
  databaseNameProblem,
  mysqlAccount,
  mysqlGrantName,
  mysqlIdent,
  nameProblem,
  pgIdent,
  scramVerifier,
  serverProblem,
  sqlString,
  toSecret,
  wordProblem,
  type DatabaseEngine,
  type SqlLogin,
} from './sql-client.js';

export interface DatabaseOptions {
  engine: DatabaseEngine;
  name: string;
  user?: string;
  password?: string | Secret;
  host?: string;
  charset?: string;
  collation?: string;
  state?: 'present' | 'absent';
  loginUser?: string;
  loginPassword?: string | Secret;
  updatePassword?: 'onCreate' | 'always';
}

export interface DatabasePlan {
  engine: DatabaseEngine;
  name: string;
  user?: string;
  password?: Secret;
  /** PostgreSQL: the salt of the password's SCRAM verifier, drawn when the task is prepared. */
  salt: Buffer;
  /** MySQL: the account's host part. */
  host: string;
  charset?: string;
  collation?: string;
  state: 'present' | 'absent';
  login: SqlLogin;
  updatePassword: 'onCreate' | 'always';
}

const SCHEMA: OptionsSchema = {
  engine: { type: 'string', required: true, values: ['mysql', 'postgresql'] },
  name: { type: 'string', required: true },
  user: { type: 'string' },
  password: { type: 'secret-or-string' },
  host: { type: 'string' },
  charset: { type: 'string' },
  collation: { type: 'string' },
  state: { type: 'string', values: ['present', 'absent'] },
  loginUser: { type: 'string' },
  loginPassword: { type: 'secret-or-string' },
  updatePassword: { type: 'string', values: ['onCreate', 'always'] },
};

/** What GRANT ALL ON db.* gives in both MySQL 5.7/8 and MariaDB (MariaDB adds DELETE HISTORY). */
export const MYSQL_ALL = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES',
  'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER',
] as const;
export const PG_ALL = ['CREATE', 'CONNECT', 'TEMPORARY'] as const;

const MASKED = '***';

function account(plan: DatabasePlan): string {
  return plan.engine === 'mysql' ? `${plan.user}@${plan.host}` : `${plan.user}`;
}

/** SQL statements, each built twice: with the password for stdin, without (shown as ***) for the diff. */
interface Statement {
  sql: (password: string | undefined) => string;
}

const fixed = (sql: string): Statement => ({ sql: () => sql });

function createDatabase(plan: DatabasePlan, owner: boolean): Statement {
  if (plan.engine === 'mysql') {
    const cs = plan.charset ? ` CHARACTER SET ${plan.charset}` : '';
    const co = plan.collation ? ` COLLATE ${plan.collation}` : '';
    return fixed(`CREATE DATABASE ${mysqlIdent(plan.name)}${cs}${co};`);
  }
  const parts = [`CREATE DATABASE ${pgIdent(plan.name)}`];
  if (owner && plan.user !== undefined) parts.push(`OWNER ${pgIdent(plan.user)}`);
  if (plan.charset) parts.push(`ENCODING ${sqlString('postgresql', plan.charset)}`);
  if (plan.collation) parts.push(`LC_COLLATE ${sqlString('postgresql', plan.collation)} LC_CTYPE ${sqlString('postgresql', plan.collation)}`);
  // template1 may hold another encoding or locale; template0 takes any.
  if (plan.charset || plan.collation) parts.push('TEMPLATE template0');
  return fixed(`${parts.join(' ')};`);
}

function userStatement(plan: DatabasePlan, verb: 'CREATE' | 'ALTER'): Statement {
  const user = plan.user!;
  if (plan.engine === 'mysql') return { sql: (pw) => `${verb} USER ${mysqlAccount(user, plan.host)} IDENTIFIED BY ${sqlString('mysql', pw ?? MASKED)};` };
  const secret = (pw: string) => scramVerifier(pw, plan.salt) ?? pw;
  return { sql: (pw) => `${verb} ROLE ${pgIdent(user)}${verb === 'CREATE' ? ' LOGIN' : ''} PASSWORD ${sqlString('postgresql', pw === undefined ? MASKED : secret(pw))};` };
}

function grant(plan: DatabasePlan, verb: 'GRANT' | 'REVOKE'): Statement {
  if (plan.engine === 'mysql') {
    const on = `${mysqlIdent(mysqlGrantName(plan.name))}.*`;
    return fixed(`${verb} ALL PRIVILEGES ON ${on} ${verb === 'GRANT' ? 'TO' : 'FROM'} ${mysqlAccount(plan.user!, plan.host)};`);
  }
  return fixed(`${verb} ALL PRIVILEGES ON DATABASE ${pgIdent(plan.name)} ${verb === 'GRANT' ? 'TO' : 'FROM'} ${pgIdent(plan.user!)};`);
}

function sqlText(statements: readonly Statement[], password: string | undefined): string {
  const body = statements.map((s) => s.sql(password)).join('\n');
  return `${body}\n`;
}

function changeWith(plan: DatabasePlan, reason: string, statements: Statement[], effects: Effect[], label: string): Decision {
  const password = plan.password?.reveal() ?? '';
  const env = clientEnv(plan.engine, plan.login);
  const target = plan.engine === 'postgresql' ? sh` -d postgres` : sh``;
  return change(
    reason,
    [
      {
        kind: 'exec',
        command: sh`${clientFunction(plan.engine, plan.login)}\nsqlc${target}`,
        stdin: sqlText(statements, password),
        ...(Object.keys(env).length > 0 ? { env } : {}),
        label,
      },
    ],
    { diff: sqlText(statements, undefined), effects },
  );
}

const same = (engine: DatabaseEngine, a: string, b: string): boolean =>
  engine === 'mysql' ? a.toLowerCase() === b.toLowerCase() : a.toUpperCase().replace(/-/g, '') === b.toUpperCase().replace(/-/g, '');

function decideAbsent(plan: DatabasePlan, fact: DatabaseFact): Decision {
  if (!fact.database) return noop(`database ${plan.name} absent`);
  const statements = [fixed(plan.engine === 'mysql' ? `DROP DATABASE ${mysqlIdent(plan.name)};` : `DROP DATABASE ${pgIdent(plan.name)};`)];
  // MySQL keeps a grant on a dropped database, and gives it to the next database of that name.
  if (plan.engine === 'mysql' && plan.user !== undefined && fact.privileges.length > 0) statements.push(grant(plan, 'REVOKE'));
  const tables = fact.database.tables !== undefined ? ` (${fact.database.tables} tables)` : '';
  const revoked = statements.length > 1 ? `, revoke ${account(plan)}'s grant on it` : '';
  return changeWith(plan, `drop database ${plan.name}${tables}${revoked}`, statements, [
    { kind: 'database', engine: plan.engine, object: 'database', name: plan.name, state: 'absent' },
  ], `drop database ${plan.name}`);
}

/** The statements that bring an existing database to the wanted charset and collation, or a failure. */
function charsetChange(plan: DatabasePlan, db: NonNullable<DatabaseFact['database']>): { statement?: Statement; part?: string } {
  const charsetOff = plan.charset !== undefined && !same(plan.engine, plan.charset, db.charset);
  const collationOff = plan.collation !== undefined && !same(plan.engine, plan.collation, db.collation);
  if (!charsetOff && !collationOff) return {};
  const was = charsetOff ? `charset ${db.charset} → ${plan.charset}` : `collation ${db.collation} → ${plan.collation}`;
  if (plan.engine === 'postgresql') {
    throw new TaskFailure(`database ${plan.name} exists with ${was.replace(' → ', ', not ')}; PostgreSQL cannot change a database's encoding or collation: drop and recreate it (state 'absent', then 'present')`);
  }
  if ((db.tables ?? 0) > 0) {
    throw new TaskFailure(
      `database ${plan.name} has ${was.replace(' → ', ', not ')}, and ${db.tables} tables: ALTER DATABASE would change only the default of new tables, and the existing ones keep theirs; ` +
        `drop and recreate the database (state 'absent', then 'present') if its data can go, or convert its tables by hand`,
    );
  }
  const cs = plan.charset ? ` CHARACTER SET ${plan.charset}` : '';
  const co = plan.collation ? ` COLLATE ${plan.collation}` : '';
  return { statement: fixed(`ALTER DATABASE ${mysqlIdent(plan.name)}${cs}${co};`), part: `database ${plan.name} ${was} (no tables yet)` };
}

export function decideDatabase(plan: DatabasePlan, fact: DatabaseFact): Decision {
  if (fact.server !== 'up') throw new TaskFailure(serverProblem(plan.engine, fact.server, fact.error, plan.login));
  if (plan.state === 'absent') return decideAbsent(plan, fact);
  const statements: Statement[] = [];
  const parts: string[] = [];
  const effects: Effect[] = [];
  const userExists = plan.user !== undefined && fact.user === true;
  if (plan.user !== undefined && !userExists) {
    if (!plan.password) throw new TaskFailure(`user ${account(plan)} does not exist; give a password to create it`);
    statements.push(userStatement(plan, 'CREATE'));
    parts.push(`create user ${account(plan)} (password ${MASKED})`);
    effects.push({ kind: 'database', engine: plan.engine, object: 'user', name: userKey(plan.engine, plan.user, plan.host), state: 'present', fresh: true });
  } else if (userExists && plan.updatePassword === 'always' && plan.password) {
    statements.push(userStatement(plan, 'ALTER'));
    parts.push(`set the password of ${account(plan)} (updatePassword: always)`);
  }
  const db = fact.database;
  if (!db) {
    statements.push(createDatabase(plan, true));
    parts.push(`create database ${plan.name}${plan.charset ? ` (${plan.charset})` : ''}`);
    effects.push({ kind: 'database', engine: plan.engine, object: 'database', name: plan.name, state: 'present', fresh: true });
  } else {
    const { statement, part } = charsetChange(plan, db);
    if (statement) {
      statements.push(statement);
      parts.push(part!);
      effects.push({ kind: 'database', engine: plan.engine, object: 'database', name: plan.name, state: 'present' });
    }
  }
  if (plan.user !== undefined) {
    const all: readonly string[] = plan.engine === 'mysql' ? MYSQL_ALL : PG_ALL;
    const missing = db ? all.filter((p) => !fact.privileges.includes(p)) : [...all];
    if (missing.length > 0) {
      statements.push(grant(plan, 'GRANT'));
      const partly = db && missing.length < all.length ? ` (missing ${missing.join(', ')})` : '';
      parts.push(`grant ALL on ${plan.name} to ${account(plan)}${partly}`);
    }
  }
  const charset = db ? ` (${db.charset})` : '';
  const userText = plan.user !== undefined ? ` and user ${account(plan)} with ALL on it` : '';
  const madeBy = fact.userPlanned ? ` (user made by ${fact.userPlanned})` : '';
  if (statements.length === 0) {
    const unchecked = plan.password && plan.updatePassword === 'onCreate' ? '; password not compared (updatePassword: onCreate)' : '';
    return noop(`database ${plan.name}${charset}${userText} present${madeBy}${unchecked}`);
  }
  const server = fact.serverPlanned ? ` (the server is not there yet: ${fact.serverPlanned})` : '';
  return changeWith(plan, `${parts.join(', ')}${madeBy}${server}`, statements, effects, `database ${plan.name}`);
}

function check(o: DatabaseOptions): string | undefined {
  const problem =
    databaseNameProblem(o.engine, o.name) ??
    (o.user !== undefined ? nameProblem('user', o.user, o.engine, o.engine === 'mysql' ? 80 : 63) : undefined) ??
    (o.host !== undefined ? nameProblem('host', o.host, o.engine, 255) : undefined);
  if (problem) return problem;
  if (o.host !== undefined && o.engine !== 'mysql') return 'host is for mysql only (PostgreSQL takes client hosts from pg_hba.conf)';
  if (o.password !== undefined && o.user === undefined) return 'a password needs a user';
  for (const key of ['charset', 'collation'] as const) {
    const value = o[key];
    if (value === undefined) continue;
    const bad = o.engine === 'mysql' ? wordProblem(key, value) : /^[A-Za-z0-9_.@-]+$/.test(value) ? undefined : `${key} ${JSON.stringify(value)} is not a name`;
    if (bad) return bad;
  }
  const login = isSecret(o.loginPassword) ? o.loginPassword.reveal() : o.loginPassword;
  if (login?.includes('\n')) return 'loginPassword must not hold a newline';
  return undefined;
}

export function planDatabase(o: DatabaseOptions, salt: Buffer = randomBytes(16)): DatabasePlan {
  const password = toSecret(o.password, 'password');
  const loginPassword = toSecret(o.loginPassword, 'loginPassword');
  return {
    engine: o.engine,
    name: o.name,
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(password ? { password } : {}),
    salt,
    host: o.host ?? '%',
    ...(o.charset !== undefined ? { charset: o.charset } : {}),
    ...(o.collation !== undefined ? { collation: o.collation } : {}),
    state: o.state ?? 'present',
    login: { ...(o.loginUser !== undefined ? { user: o.loginUser } : {}), ...(loginPassword ? { password: loginPassword } : {}) },
    updatePassword: o.updatePassword ?? 'onCreate',
  };
}

export const databaseModule = defineModule<DatabaseOptions, DatabasePlan, { database: ReturnType<typeof databaseFact> }>({
  name: 'database',
  schema: SCHEMA,
  describe: (o) => `${o.state === 'absent' ? 'drop ' : ''}database ${o.name}${o.user !== undefined && o.state !== 'absent' ? ` and user ${o.user}` : ''}`,
  prepare: (o) => planDatabase(o),
  facts: (p) => ({
    database: databaseFact({ engine: p.engine, name: p.name, ...(p.user !== undefined ? { user: p.user } : {}), host: p.host, login: p.login }),
  }),
  decide: (plan, facts) => decideDatabase(plan, facts.database),
});

/** A database and a user with ALL on it. See the module's TSDoc above. */
export function database(options: DatabaseOptions & CommonOptions): Task<DatabaseOptions> {
  return buildTask('database', SCHEMA, options, check);
}
