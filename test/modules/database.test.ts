import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { DatabaseFact } from '../../src/facts/database.js';
import { database, decideDatabase, planDatabase, type DatabaseOptions } from '../../src/modules/database.js';
import { TaskFailure, type Decision } from '../../src/modules/decision.js';
import { MYSQL_SESSION, mysqlIdent, mysqlString, pgIdent, pgString, mysqlGrantName } from '../../src/modules/sql-client.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { Secret } from '../../src/shell/secret.js';
import { HOSTILE, runSh } from '../shell/run-sh.js';
import { mysqlHere, mysqlMissing, postgresMissing, psqlHere, runLocal, uniqueName, requireServer } from './sql-local.js';

const MYSQL_SQLC = String.raw`sqlc() { mysql --batch --skip-column-names --default-character-set=utf8mb4 --loose-skip-print-query-on-error '--init-command=SET SESSION sql_mode = TRIM(BOTH '\'','\'' FROM REPLACE(CONCAT('\'','\'', @@SESSION.sql_mode, '\'','\''), '\'',NO_BACKSLASH_ESCAPES,'\'', '\'','\''));' "$@"; }`;
const PG_PEER_SQLC = `sqlc() {
  if [ "$(id -u)" = 0 ] && [ "$(id -un)" != postgres ]; then (cd / && exec runuser -u postgres -- psql -X -q -w -A -t -F '\t' -v ON_ERROR_STOP=1 "$@")
  else psql -X -q -w -A -t -F '\t' -v ON_ERROR_STOP=1 "$@"; fi
}`;
const ALL = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES', 'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER'];
const PASSWORD = "s3cr'et\\pw";

test('SQL quoting: exact literals', () => {
  assert.equal(mysqlIdent('Identity`DB'), '`Identity``DB`');
  assert.equal(mysqlString("it's a \\ and\nnew"), "'it\\'s a \\\\ and\\nnew'");
  assert.equal(pgIdent('Id"DB'), '"Id""DB"');
  assert.equal(pgString("it's"), "'it''s'");
  assert.equal(pgString('back\\slash\'s'), "E'back\\\\slash\\'s'");
  assert.equal(mysqlGrantName('WSO2_IDENTITY%DB'), 'WSO2\\_IDENTITY\\%DB');
  assert.throws(() => mysqlString('a\0b'), /NUL/);
  assert.throws(() => pgIdent('a\0b'), /NUL/);
});

test('SQL quoting round trip through MariaDB, also with NO_BACKSLASH_ESCAPES on the server', () => {
  requireServer(mysqlMissing());
  for (const mode of ['', "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES';"]) {
    const sql = `${mode}\n${MYSQL_SESSION}\n${HOSTILE.map((v) => `SELECT HEX(${mysqlString(v)});`).join('\n')}\n`;
    const r = spawnSync('mysql', ['--batch', '--skip-column-names', '--default-character-set=utf8mb4'], { input: sql, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(0, -1), HOSTILE.map((v) => Buffer.from(v).toString('hex').toUpperCase()), mode || 'default mode');
  }
  const idents = ['a`b', 'two words', "it's", 'ünï'];
  const r = spawnSync('mysql', ['--batch', '--default-character-set=utf8mb4', '-e', `SELECT ${idents.map((n, i) => `${i} AS ${mysqlIdent(n)}`).join(', ')}`], { encoding: 'utf8' });
  assert.equal(r.stdout.split('\n')[0], idents.join('\t'));
});

test('SQL quoting round trip through PostgreSQL, also with standard_conforming_strings off', () => {
  requireServer(postgresMissing());
  for (const setting of ['on', 'off']) {
    const sql = `SET standard_conforming_strings = ${setting}; SELECT ${HOSTILE.map((v) => `encode(convert_to(${pgString(v)}, 'UTF8'), 'hex')`).join(" || ',' || ")}`;
    assert.equal(psqlHere(sql).trim(), HOSTILE.map((v) => Buffer.from(v).toString('hex')).join(','), setting);
  }
});

const errorOf = (o: DatabaseOptions): string => {
  try {
    database(o);
  } catch (error) {
    assert.ok(error instanceof PlaybookError);
    return (error as Error).message.replace(/^\S+:\d+: /, '');
  }
  return 'no error';
};

test('database options are checked when the task is built', () => {
  const cases: [DatabaseOptions, string][] = [
    [{ engine: 'oracle' as never, name: 'x' }, 'database: option "engine" must be one of "mysql", "postgresql", not "oracle"'],
    [{ engine: 'mysql', name: '' }, 'database: database name must not be empty'],
    [{ engine: 'mysql', name: 'a.b' }, 'database: database name "a.b" cannot hold "/", "\\" or "." nor end with a space in MySQL'],
    [{ engine: 'mysql', name: 'x'.repeat(65) }, `database: database name "${'x'.repeat(65)}" is longer than 64 bytes (the MySQL/MariaDB limit)`],
    [{ engine: 'mysql', name: 'x', user: 'a\nb' }, 'database: user "a\\nb" holds a control character'],
    [{ engine: 'mysql', name: 'x', password: 'p' }, 'database: a password needs a user'],
    [{ engine: 'mysql', name: 'x', charset: 'latin1; DROP' }, 'database: charset "latin1; DROP" must be a name such as latin1 or utf8mb4_bin'],
    [{ engine: 'postgresql', name: 'x', host: '%' }, 'database: host is for mysql only (PostgreSQL takes client hosts from pg_hba.conf)'],
    [{ engine: 'mysql', name: 'x', loginPassword: new Secret('a\nb') }, 'database: loginPassword must not hold a newline'],
    [{ engine: 'mysql', name: 'x', pasword: 'p' } as never, 'database: unknown option "pasword" (did you mean "password"?)'],
  ];
  for (const [o, message] of cases) assert.equal(errorOf(o), message);
  assert.equal(errorOf({ engine: 'postgresql', name: 'x', charset: 'UTF8', collation: 'en_US.UTF-8' }), 'no error');
});

const up = (extra: Partial<DatabaseFact> = {}, engine: 'mysql' | 'postgresql' = 'mysql'): DatabaseFact => ({ engine, server: 'up', user: false, privileges: [], ...extra });
const latin1 = (tables = 0) => ({ charset: 'latin1', collation: 'latin1_swedish_ci', tables });
const WSO2: DatabaseOptions = { engine: 'mysql', name: 'IdentityDB', user: 'wso2', password: new Secret(PASSWORD), charset: 'latin1' };

interface Case {
  name: string;
  options: DatabaseOptions;
  fact: DatabaseFact;
  kind: Decision['kind'];
  reason: string;
  /** The SQL on stdin (the diff is the same with *** for the password). */
  stdin?: string;
  command?: string;
}

const CASES: Case[] = [
  {
    name: 'fresh server: user, database with charset, grant in one session',
    options: WSO2,
    fact: up(),
    kind: 'change',
    reason: 'create user wso2@% (password ***), create database IdentityDB (latin1), grant ALL on IdentityDB to wso2@%',
    stdin: `CREATE USER 'wso2'@'%' IDENTIFIED BY 's3cr\\'et\\\\pw';\nCREATE DATABASE \`IdentityDB\` CHARACTER SET latin1;\nGRANT ALL PRIVILEGES ON \`IdentityDB\`.* TO 'wso2'@'%';\n`,
    command: `${MYSQL_SQLC}\nsqlc`,
  },
  {
    name: 'all present',
    options: WSO2,
    fact: up({ user: true, database: latin1(103), privileges: [...ALL, 'DELETE HISTORY'] }),
    kind: 'noop',
    reason: 'database IdentityDB (latin1) and user wso2@% with ALL on it present; password not compared (updatePassword: onCreate)',
  },
  {
    name: 'database only, no charset asked: any charset will do',
    options: { engine: 'mysql', name: 'SharedDB' },
    fact: up({ user: undefined, database: { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', tables: 0 } }),
    kind: 'noop',
    reason: 'database SharedDB (utf8mb4) present',
  },
  {
    name: 'user there (another database made it): only the database and the grant',
    options: { ...WSO2, name: 'WSO2_SHARED' },
    fact: up({ user: true }),
    kind: 'change',
    reason: 'create database WSO2_SHARED (latin1), grant ALL on WSO2_SHARED to wso2@%',
    stdin: "CREATE DATABASE `WSO2_SHARED` CHARACTER SET latin1;\nGRANT ALL PRIVILEGES ON `WSO2\\_SHARED`.* TO 'wso2'@'%';\n",
  },
  {
    name: 'some privileges missing',
    options: { ...WSO2, host: '10.0.0.%' },
    fact: up({ user: true, database: latin1(), privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] }),
    kind: 'change',
    reason: 'grant ALL on IdentityDB to wso2@10.0.0.% (missing CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER)',
    stdin: "GRANT ALL PRIVILEGES ON `IdentityDB`.* TO 'wso2'@'10.0.0.%';\n",
  },
  {
    name: 'empty database with the server default charset: ALTER DATABASE',
    options: WSO2,
    fact: up({ user: true, database: { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', tables: 0 }, privileges: ALL }),
    kind: 'change',
    reason: 'database IdentityDB charset utf8mb4 → latin1 (no tables yet)',
    stdin: 'ALTER DATABASE `IdentityDB` CHARACTER SET latin1;\n',
  },
  {
    name: 'updatePassword always re-sets it',
    options: { ...WSO2, updatePassword: 'always' },
    fact: up({ user: true, database: latin1(), privileges: ALL }),
    kind: 'change',
    reason: 'set the password of wso2@% (updatePassword: always)',
    stdin: "ALTER USER 'wso2'@'%' IDENTIFIED BY 's3cr\\'et\\\\pw';\n",
  },
  {
    name: 'absent: drop the database and revoke the grant, keep the user',
    options: { engine: 'mysql', name: 'IdentityDB', user: 'wso2', state: 'absent' },
    fact: up({ user: true, database: latin1(3), privileges: ALL }),
    kind: 'change',
    reason: "drop database IdentityDB (3 tables), revoke wso2@%'s grant on it",
    stdin: "DROP DATABASE `IdentityDB`;\nREVOKE ALL PRIVILEGES ON `IdentityDB`.* FROM 'wso2'@'%';\n",
  },
  { name: 'absent and gone', options: { engine: 'mysql', name: 'IdentityDB', state: 'absent' }, fact: up({ user: undefined }), kind: 'noop', reason: 'database IdentityDB absent' },
  {
    name: 'dry-run on a fresh host: the server comes with an earlier install',
    options: WSO2,
    fact: up({ serverPlanned: 'package mariadb-server is installed by "packages"' }),
    kind: 'change',
    reason: 'create user wso2@% (password ***), create database IdentityDB (latin1), grant ALL on IdentityDB to wso2@% (the server is not there yet: package mariadb-server is installed by "packages")',
  },
  {
    name: 'dry-run: the user is made by an earlier database task',
    options: { ...WSO2, name: 'SharedDB' },
    fact: up({ user: true, userPlanned: '"database IdentityDB and user wso2"', serverPlanned: 'package mariadb-server is installed by "packages"' }),
    kind: 'change',
    reason: 'create database SharedDB (latin1), grant ALL on SharedDB to wso2@% (user made by "database IdentityDB and user wso2") (the server is not there yet: package mariadb-server is installed by "packages")',
  },
  {
    name: 'postgresql: role, database owned by it, grant; peer login as postgres',
    options: { engine: 'postgresql', name: 'IdentityDB', user: 'wso2', password: PASSWORD, charset: 'UTF8' },
    fact: up({}, 'postgresql'),
    kind: 'change',
    reason: 'create user wso2 (password ***), create database IdentityDB (UTF8), grant ALL on IdentityDB to wso2',
    stdin: `CREATE ROLE "wso2" LOGIN PASSWORD 'SCRAM-SHA-256$4096:BwcHBwcHBwcHBwcHBwcHBw==$hhN36GhKPgzW0Ex9ZrLVVPZZKXHfHP0NKlIhODRC5Rs=:6zVqyYS8wVh9xNZoplYCiuCtnlffbAhiGL0/NKgFzcM=';\nCREATE DATABASE "IdentityDB" OWNER "wso2" ENCODING 'UTF8' TEMPLATE template0;\nGRANT ALL PRIVILEGES ON DATABASE "IdentityDB" TO "wso2";\n`,
    command: `${PG_PEER_SQLC}\nsqlc -d postgres`,
  },
  {
    name: 'postgresql: a password beyond printable ASCII goes as it is (SASLprep could change it)',
    options: { engine: 'postgresql', name: 'IdentityDB', user: 'wso2', password: 'pässwörd' },
    fact: up({ user: false, database: { charset: 'UTF8', collation: 'C', owner: 'postgres' }, privileges: [] }, 'postgresql'),
    kind: 'change',
    reason: 'create user wso2 (password ***), grant ALL on IdentityDB to wso2',
    stdin: `CREATE ROLE "wso2" LOGIN PASSWORD 'pässwörd';\nGRANT ALL PRIVILEGES ON DATABASE "IdentityDB" TO "wso2";\n`,
  },
  {
    name: 'postgresql: all present (the owner has every privilege)',
    options: { engine: 'postgresql', name: 'IdentityDB', user: 'wso2', charset: 'utf8' },
    fact: up({ user: true, database: { charset: 'UTF8', collation: 'C.UTF-8', owner: 'wso2' }, privileges: ['CREATE', 'CONNECT', 'TEMPORARY'] }, 'postgresql'),
    kind: 'noop',
    reason: 'database IdentityDB (UTF8) and user wso2 with ALL on it present',
  },
];

const SALT = Buffer.alloc(16, 7);
const plan = (o: DatabaseOptions) => planDatabase(database(o).options, SALT);

for (const c of CASES) {
  test(`database decide: ${c.name}`, () => {
    const decision = decideDatabase(plan(c.options), c.fact);
    assert.equal(decision.kind, c.kind);
    assert.equal(decision.reason, c.reason);
    if (decision.kind !== 'change') return;
    assert.equal(decision.steps.length, 1);
    const step = decision.steps[0]!;
    assert.equal(step.kind, 'exec');
    if (step.kind !== 'exec') return;
    if (c.stdin !== undefined) {
      assert.equal(step.stdin, c.stdin);
      assert.equal(decision.diff, c.stdin.replace(/(IDENTIFIED BY|PASSWORD) E?'(?:[^'\\]|\\.)*'/g, "$1 '***'"));
    }
    if (c.command !== undefined) assert.equal(step.command.text, c.command);
    const shown = JSON.stringify({ reason: decision.reason, diff: decision.diff, command: step.command.text, env: step.env });
    assert.ok(!shown.includes("s3cr'et") && !shown.includes("s3cr\\'et"), 'the password is only on stdin');
  });
}

test('database decide: effects say what a dry-run makes', () => {
  const d = decideDatabase(plan(WSO2), up());
  assert.ok(d.kind === 'change');
  assert.deepEqual(d.effects, [
    { kind: 'database', engine: 'mysql', object: 'user', name: 'wso2@%', state: 'present', fresh: true },
    { kind: 'database', engine: 'mysql', object: 'database', name: 'IdentityDB', state: 'present', fresh: true },
  ]);
  const altered = decideDatabase(plan(WSO2), up({ user: true, database: { charset: 'utf8mb4', collation: 'x', tables: 0 }, privileges: ALL }));
  assert.ok(altered.kind === 'change');
  assert.deepEqual(altered.effects, [{ kind: 'database', engine: 'mysql', object: 'database', name: 'IdentityDB', state: 'present' }]);
});

test('database decide: failures say why and what to do', () => {
  const cases: [DatabaseOptions, DatabaseFact, string][] = [
    [WSO2, up({ user: true, database: { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', tables: 87 }, privileges: ALL }),
      "database IdentityDB has charset utf8mb4, not latin1, and 87 tables: ALTER DATABASE would change only the default of new tables, and the existing ones keep theirs; drop and recreate the database (state 'absent', then 'present') if its data can go, or convert its tables by hand"],
    [{ ...WSO2, password: undefined }, up(), 'user wso2@% does not exist; give a password to create it'],
    [WSO2, { engine: 'mysql', server: 'no-client', privileges: [] }, 'the mysql client is not installed on the host; install mariadb-server (or mariadb-client for a remote server) in an earlier task'],
    [WSO2, { engine: 'mysql', server: 'down', error: "ERROR 2002 (HY000): Can't connect", privileges: [] }, "the MySQL/MariaDB server is not running or not reachable: ERROR 2002 (HY000): Can't connect; start it in an earlier task (service mariadb start)"],
    [{ ...WSO2, loginUser: 'admin' }, { engine: 'mysql', server: 'denied', error: 'ERROR 1045', privileges: [] }, 'MySQL/MariaDB refused the login as admin: ERROR 1045; set loginUser/loginPassword, or run the task as root (become)'],
    [{ engine: 'postgresql', name: 'IdentityDB', charset: 'UTF8' }, up({ user: undefined, database: { charset: 'LATIN1', collation: 'C', owner: 'postgres' } }, 'postgresql'),
      "database IdentityDB exists with charset LATIN1, not UTF8; PostgreSQL cannot change a database's encoding or collation: drop and recreate it (state 'absent', then 'present')"],
    [{ engine: 'postgresql', name: 'IdentityDB' }, { engine: 'postgresql', server: 'no-server', privileges: [] }, 'PostgreSQL is not installed on the host (no OS user postgres)'],
  ];
  for (const [o, fact, message] of cases) {
    assert.throws(() => decideDatabase(plan(o), fact), (e: unknown) => e instanceof TaskFailure && e.message === message);
  }
});

// Real servers: each test makes its own names and drops them afterwards.
const cleanups: (() => void)[] = [];
after(() => cleanups.reverse().forEach((c) => c()));

test('database on MariaDB: create with awkward names, log in with the password, noop, repair, drop', async () => {
  requireServer(mysqlMissing());
  const name = `${uniqueName('isp_db')} we\`ird'`;
  const user = `${uniqueName('ispu')}'q`;
  cleanups.push(() => mysqlHere(`DROP DATABASE IF EXISTS ${mysqlIdent(name)}; DROP USER IF EXISTS ${mysqlString(user)}@'%'`));
  const task = database({ engine: 'mysql', name, user, password: new Secret(PASSWORD), charset: 'latin1' });
  const first = await runLocal(task);
  assert.equal(first.status, 'changed', JSON.stringify(first.error));
  assert.equal(mysqlHere(`SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${mysqlString(name)}`), 'latin1\n');
  const login = spawnSync('mysql', ['--batch', '--skip-column-names', `--user=${user}`, `--database=${name}`, '-e', 'SELECT CURRENT_USER()'], { env: { ...process.env, MYSQL_PWD: PASSWORD }, encoding: 'utf8' });
  assert.equal(login.status, 0, login.stderr);
  assert.ok(first.events.every((e) => !JSON.stringify(e).includes("s3cr'et")), 'the password is in no event');
  // A failing CREATE USER (here: the user exists, the fact says not) must not echo its password.
  const stale = decideDatabase(planDatabase(task.options), { engine: 'mysql', server: 'up', user: false, privileges: [] });
  assert.ok(stale.kind === 'change' && stale.steps[0]!.kind === 'exec');
  const failed = runSh(stale.steps[0]!.command.text, { stdin: stale.steps[0]!.stdin! });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^ERROR 1396 \(HY000\) at line 1: Operation CREATE USER failed for /);
  assert.ok(!failed.stderr.includes("s3cr"), failed.stderr);
  const second = await runLocal(task);
  assert.equal(second.status, 'ok');
  assert.match(second.reason, /^database isp_db_.* \(latin1\) and user ispu_.*'q@% with ALL on it present; password not compared/);
  mysqlHere(`REVOKE DELETE, DROP ON ${mysqlIdent(mysqlGrantName(name))}.* FROM ${mysqlString(user)}@'%'`);
  const repaired = await runLocal(task);
  assert.equal(repaired.status, 'changed');
  assert.match(repaired.reason, /\(missing DELETE, DROP\)$/);
  assert.equal((await runLocal(task)).status, 'ok');
  const utf = await runLocal(database({ engine: 'mysql', name, charset: 'utf8mb4' }));
  assert.equal(utf.reason, `database ${name} charset latin1 → utf8mb4 (no tables yet)`);
  mysqlHere(`CREATE TABLE ${mysqlIdent(name)}.t (a int)`);
  const refused = await runLocal(database({ engine: 'mysql', name, charset: 'latin1' }));
  assert.equal(refused.status, 'failed');
  assert.match(refused.reason, /has charset utf8mb4, not latin1, and 1 tables/);
  const drop = await runLocal(database({ engine: 'mysql', name, user, state: 'absent' }));
  assert.equal(drop.reason, `drop database ${name} (1 tables), revoke ${user}@%'s grant on it`);
  assert.equal((await runLocal(database({ engine: 'mysql', name, user, state: 'absent' }))).reason, `database ${name} absent`);
  assert.equal(mysqlHere(`SELECT COUNT(*) FROM mysql.db WHERE User = ${mysqlString(user)}`), '0\n', 'no grant left for the next database of that name');
});

test('database on PostgreSQL: role owns the database, password login over TCP, noop, drop', async () => {
  requireServer(postgresMissing());
  const name = `${uniqueName('isp_db')} We"ird`;
  const user = uniqueName('ispu');
  cleanups.push(() => {
    psqlHere(`DROP DATABASE IF EXISTS ${pgIdent(name)}`);
    psqlHere(`DROP ROLE IF EXISTS ${pgIdent(user)}`);
  });
  const task = database({ engine: 'postgresql', name, user, password: PASSWORD, charset: 'UTF8' });
  const first = await runLocal(task);
  assert.equal(first.status, 'changed', JSON.stringify(first.error));
  const login = spawnSync('psql', ['-X', '-At', '-h', '127.0.0.1', '-U', user, '-d', name, '-c', 'SELECT current_user'], { env: { ...process.env, PGPASSWORD: PASSWORD }, encoding: 'utf8' });
  assert.equal(login.stdout, `${user}\n`, login.stderr);
  assert.equal(psqlHere(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = ${pgString(name)}`), `${user}\n`);
  const second = await runLocal(task);
  assert.equal(second.status, 'ok');
  assert.equal(second.reason, `database ${name} (UTF8) and user ${user} with ALL on it present; password not compared (updatePassword: onCreate)`);
  const drop = await runLocal(database({ engine: 'postgresql', name, state: 'absent' }));
  assert.equal(drop.reason, `drop database ${name}`);
  assert.equal((await runLocal(database({ engine: 'postgresql', name, state: 'absent' }))).status, 'ok');
});
