/**
 * Facts about databases on a MySQL/MariaDB or PostgreSQL server, read with the server's own client and
 * read-only SQL. Each reports the server's state as an output line (never a failing exit), so a dry-run on
 * a host where the server is not installed yet still gets an answer.
 */
import { sh } from '../shell/quote.js';
import type { Secret } from '../shell/secret.js';
import {
  clientEnv,
  databaseArgs,
  fromHex,
  mysqlGrantName,
  mysqlString,
  parseProbeOutput,
  pgString,
  probeFunctions,
  queryArgs,
  SERVER_PACKAGES,
  SERVER_SERVICES,
  type ServerState,
  type SqlLogin,
} from '../modules/sql-client.js';
import { defineFact, Unknowable, type FactDefinition } from './define.js';
import type { DatabaseEngine, EffectView } from './effects.js';

/** The table in each database where sqlScripts records the scripts it ran. */
export const LEDGER_TABLE = 'is_provision_ledger';

/**
 * What a fact needs in its environment (a login password). The engine passes it like an exec step's
 * env: over stdin, never on the command line.
 */
export interface FactEnv<A> {
  env?(args: A): Record<string, Secret>;
}

export interface DatabaseFactArgs {
  engine: DatabaseEngine;
  name: string;
  user?: string;
  /** MySQL: the host part of the user's account. */
  host?: string;
  login: SqlLogin;
}

export interface DatabaseFact {
  engine: DatabaseEngine;
  server: ServerState;
  error?: string;
  /** Absent when the database does not exist. */
  database?: { charset: string; collation: string; tables?: number; owner?: string };
  /** Whether the user (account) exists; absent when no user was asked about. */
  user?: boolean;
  /** The privileges the user holds on the database (MySQL's names, or CREATE/CONNECT/TEMPORARY). */
  privileges: string[];
  /** The server was not up, and this earlier planned change brings it (dry-runs only). */
  serverPlanned?: string;
  /** The user does not exist yet, and this earlier task creates it (dry-runs only). */
  userPlanned?: string;
}

/** The account key that effects use for a user: `name@host` in MySQL, the role name in PostgreSQL. */
export const userKey = (engine: DatabaseEngine, user: string, host = '%'): string => (engine === 'mysql' ? `${user}@${host}` : user);

function mysqlStatements(a: DatabaseFactArgs): string[] {
  const db = mysqlString(a.name);
  // information_schema compares case-insensitively; database names on Linux are not, hence BINARY.
  const statements = [
    `SELECT 'db', DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, (SELECT COUNT(*) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME) FROM information_schema.SCHEMATA s WHERE BINARY s.SCHEMA_NAME = ${db};`,
  ];
  if (a.user !== undefined) {
    const host = a.host ?? '%';
    statements.push(
      `SELECT 'user' FROM mysql.user WHERE BINARY User = ${mysqlString(a.user)} AND Host = ${mysqlString(host)};`,
      `SELECT 'grant', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ${mysqlString(`'${a.user}'@'${host}'`)} AND BINARY TABLE_SCHEMA = ${mysqlString(mysqlGrantName(a.name))};`,
    );
  }
  return statements;
}

function pgStatements(a: DatabaseFactArgs): string[] {
  const db = pgString(a.name);
  const statements = [`SELECT 'db', pg_encoding_to_char(encoding), datcollate, pg_get_userbyid(datdba) FROM pg_database WHERE datname = ${db}`];
  if (a.user !== undefined) {
    const role = pgString(a.user);
    statements.push(
      `SELECT 'user' FROM pg_roles WHERE rolname = ${role}`,
      // By oid, so that a missing role or database yields no row instead of an error.
      `SELECT 'grant', p FROM pg_roles r, pg_database d, unnest(ARRAY['CREATE', 'CONNECT', 'TEMPORARY']) p WHERE r.rolname = ${role} AND d.datname = ${db} AND has_database_privilege(r.oid, d.oid, p)`,
    );
  }
  return statements;
}

function parseDatabase(stdout: string, args: DatabaseFactArgs): DatabaseFact {
  const { server, error, rows } = parseProbeOutput(stdout);
  const fact: DatabaseFact = { engine: args.engine, server, ...(error !== undefined ? { error } : {}), privileges: [] };
  if (server !== 'up') return fact;
  if (args.user !== undefined) fact.user = false;
  for (const [tag, a = '', b = '', c = ''] of rows) {
    if (tag === 'db') {
      fact.database =
        args.engine === 'mysql' ? { charset: a, collation: b, tables: Number(c) } : { charset: a, collation: b, owner: c };
    } else if (tag === 'user' && args.user !== undefined) fact.user = true;
    else if (tag === 'grant' && a !== '') fact.privileges.push(a);
  }
  return fact;
}

/** The earlier planned change that brings a server that is not up now, if any. */
export function plannedServer(engine: DatabaseEngine, server: ServerState, effects: EffectView): string | undefined {
  if (server === 'up' || server === 'denied' || server === 'error') return undefined;
  const install = effects.installs().find((p) => SERVER_PACKAGES[engine].test(p.name));
  if (install) return `package ${install.name} is installed by "${install.by ?? 'an earlier task'}"`;
  if (server === 'down') {
    for (const name of SERVER_SERVICES[engine]) {
      const service = effects.service(name);
      if (service?.running) return `service ${name} is started by "${service.by ?? 'an earlier task'}"`;
    }
  }
  return undefined;
}

function refineDatabase(value: DatabaseFact, args: DatabaseFactArgs, effects: EffectView): DatabaseFact {
  let fact = value;
  if (value.server !== 'up') {
    const planned = plannedServer(args.engine, value.server, effects);
    // A server that an earlier task installs starts empty: no database, no user, no grant.
    if (planned) fact = { engine: args.engine, server: 'up', privileges: [], serverPlanned: planned, ...(args.user !== undefined ? { user: false } : {}) };
  }
  if (args.user !== undefined && fact.user === false) {
    const user = effects.database(args.engine, 'user', userKey(args.engine, args.user, args.host));
    if (user?.state === 'present') fact = { ...fact, user: true, userPlanned: `"${user.by ?? 'an earlier task'}"` };
  }
  return fact;
}

const databaseDefinition: FactDefinition<DatabaseFactArgs, DatabaseFact> & FactEnv<DatabaseFactArgs> = {
  id: 'database',
  command: (a) => {
    const statements = a.engine === 'mysql' ? mysqlStatements(a) : pgStatements(a);
    const target = a.engine === 'postgresql' ? sh` -d postgres` : sh``;
    return sh`${probeFunctions(a.engine, a.login)}
sqlrun${target} ${queryArgs(a.engine, statements)}
printf '%s\\n' "$out"
echo server=up`;
  },
  parse: parseDatabase,
  refine: refineDatabase,
  env: (a) => clientEnv(a.engine, a.login),
};

/** Whether a database exists and its charset, whether a user exists and its privileges on the database. */
export const databaseFact = defineFact(databaseDefinition);

export interface LedgerFactArgs {
  engine: DatabaseEngine;
  database: string;
  login: SqlLogin;
}

export type LedgerStatus = 'running' | 'applied' | 'failed';

export interface LedgerRow {
  name: string;
  sha256: string;
  status: LedgerStatus;
  /** UTC, "YYYY-MM-DD HH:MM:SS". */
  startedAt: string;
  finishedAt?: string;
  error?: string;
}

export interface LedgerFact {
  engine: DatabaseEngine;
  server: ServerState;
  error?: string;
  database: boolean;
  /** PostgreSQL: the owner of the database. */
  owner?: string;
  rows: LedgerRow[];
  /** The database is created (fresh) or dropped by this earlier task (dry-runs only). */
  planned?: string;
}

const MYSQL_TIME = "'%Y-%m-%d %H:%i:%s'";
const PG_TIME = "'YYYY-MM-DD HH24:MI:SS'";

function ledgerQueries(engine: DatabaseEngine, database: string): { exists: string[]; table: string[]; rows: string[] } {
  if (engine === 'mysql') {
    const db = mysqlString(database);
    return {
      exists: [`SELECT 'db' FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME = ${db};`],
      table: [`SELECT 'ledger' FROM information_schema.TABLES WHERE BINARY TABLE_SCHEMA = ${db} AND TABLE_NAME = '${LEDGER_TABLE}';`],
      rows: [
        `SELECT 'row', HEX(name), sha256, status, COALESCE(DATE_FORMAT(started_at, ${MYSQL_TIME}), ''), COALESCE(DATE_FORMAT(finished_at, ${MYSQL_TIME}), ''), COALESCE(HEX(error), '') FROM ${LEDGER_TABLE} ORDER BY started_at, name;`,
      ],
    };
  }
  const ts = (column: string): string => `COALESCE(to_char(${column} AT TIME ZONE 'UTC', ${PG_TIME}), '')`;
  return {
    exists: [`SELECT 'db' FROM pg_database WHERE datname = ${pgString(database)}`, `SELECT 'owner', pg_get_userbyid(datdba) FROM pg_database WHERE datname = ${pgString(database)}`],
    table: [`SELECT 'ledger' WHERE to_regclass('public.${LEDGER_TABLE}') IS NOT NULL`],
    rows: [
      `SELECT 'row', encode(convert_to(name, 'UTF8'), 'hex'), sha256, status, ${ts('started_at')}, ${ts('finished_at')}, COALESCE(encode(convert_to(error, 'UTF8'), 'hex'), '') FROM public.${LEDGER_TABLE} ORDER BY started_at, name`,
    ],
  };
}

function parseLedger(stdout: string, args: LedgerFactArgs): LedgerFact {
  const { server, error, rows } = parseProbeOutput(stdout);
  const fact: LedgerFact = { engine: args.engine, server, ...(error !== undefined ? { error } : {}), database: false, rows: [] };
  for (const [tag, name = '', sha = '', status = '', started = '', finished = '', err = ''] of rows) {
    if (tag === 'db') fact.database = true;
    else if (tag === 'owner' && name !== '') fact.owner = name;
    else if (tag === 'row') {
      fact.rows.push({
        name: fromHex(name),
        sha256: sha.trim(),
        status: status as LedgerStatus,
        startedAt: started,
        ...(finished ? { finishedAt: finished } : {}),
        ...(err ? { error: fromHex(err) } : {}),
      });
    }
  }
  return fact;
}

function ledgerFromEffects(args: LedgerFactArgs, effects: EffectView): LedgerFact | undefined {
  const db = effects.database(args.engine, 'database', args.database);
  if (!db) return undefined;
  const planned = `"${db.by ?? 'an earlier task'}"`;
  if (db.state === 'absent') return { engine: args.engine, server: 'up', database: false, rows: [], planned };
  // Only a database the earlier task creates is known to be empty; one it alters is asked about.
  if (db.fresh) return { engine: args.engine, server: 'up', database: true, rows: [], planned };
  return undefined;
}

function refineLedger(value: LedgerFact, args: LedgerFactArgs, effects: EffectView): LedgerFact | Unknowable {
  const planned = plannedServer(args.engine, value.server, effects);
  if (!planned) return value;
  return new Unknowable(`the server is not up yet (${planned}), and no earlier task creates database ${args.database}`);
}

const ledgerDefinition: FactDefinition<LedgerFactArgs, LedgerFact> & FactEnv<LedgerFactArgs> = {
  id: 'sql-ledger',
  command: ({ engine, database, login }) => {
    const q = ledgerQueries(engine, database);
    const meta = engine === 'postgresql' ? sh` -d postgres` : sh``;
    const inDb = sh` ${databaseArgs(engine, database)}`;
    return sh`${probeFunctions(engine, login)}
has() { printf '%s\\n' "$out" | grep -qx "$1"; }
sqlrun${meta} ${queryArgs(engine, q.exists)}
if has db; then
  printf '%s\\n' "$out"
  sqlrun${inDb} ${queryArgs(engine, q.table)}
  if has ledger; then sqlrun${inDb} ${queryArgs(engine, q.rows)}; printf '%s\\n' "$out"; fi
fi
echo server=up`;
  },
  parse: parseLedger,
  fromEffects: ledgerFromEffects,
  refine: refineLedger,
  env: (a) => clientEnv(a.engine, a.login),
};

/** The scripts sqlScripts has run in a database, from its ledger table (none when the table is missing). */
export const sqlLedgerFact = defineFact(ledgerDefinition);
