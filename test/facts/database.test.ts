import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Unknowable } from '../../src/facts/define.js';
import { EffectStore, type Effect } from '../../src/facts/effects.js';
import { databaseFact, sqlLedgerFact, type DatabaseFact, type DatabaseFactArgs, type LedgerFact, type LedgerFactArgs } from '../../src/facts/database.js';
import { runSh } from '../shell/run-sh.js';
import { mysqlHere, mysqlMissing, postgresMissing, psqlHere, uniqueName, requireServer } from '../modules/sql-local.js';

const db = databaseFact.definition;
const ledger = sqlLedgerFact.definition;
const MY: DatabaseFactArgs = { engine: 'mysql', name: 'IdentityDB', user: 'wso2', host: '%', login: {} };
const PG: DatabaseFactArgs = { engine: 'postgresql', name: 'IdentityDB', user: 'wso2', login: {} };
const MY_LEDGER: LedgerFactArgs = { engine: 'mysql', database: 'IdentityDB', login: {} };
const PG_LEDGER: LedgerFactArgs = { engine: 'postgresql', database: 'IdentityDB', login: {} };

const MYSQL_ALL = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'REFERENCES', 'INDEX', 'ALTER', 'CREATE TEMPORARY TABLES', 'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER'];
const hex = (s: string): string => Buffer.from(s).toString('hex');

// Output captured from MariaDB 10.11.19 and PostgreSQL 15.18 on Debian 12 (root through the socket).
const CAPTURED: { name: string; stdout: string; args: DatabaseFactArgs; expected: DatabaseFact }[] = [
  {
    name: 'mysql: database, user and every privilege (MariaDB adds DELETE HISTORY)',
    stdout: `db\tlatin1\tlatin1_swedish_ci\t103\nuser\n${[...MYSQL_ALL, 'DELETE HISTORY'].map((p) => `grant\t${p}\n`).join('')}server=up\n`,
    args: MY,
    expected: { engine: 'mysql', server: 'up', user: true, database: { charset: 'latin1', collation: 'latin1_swedish_ci', tables: 103 }, privileges: [...MYSQL_ALL, 'DELETE HISTORY'] },
  },
  { name: 'mysql: nothing there', stdout: '\nserver=up\n', args: MY, expected: { engine: 'mysql', server: 'up', user: false, privileges: [] } },
  {
    name: 'mysql: server down',
    stdout: "server=down\nerror=ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)\n",
    args: MY,
    expected: { engine: 'mysql', server: 'down', error: "ERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)", privileges: [] },
  },
  {
    name: 'mysql: login refused',
    stdout: "server=denied\nerror=ERROR 1045 (28000): Access denied for user 'trywso2'@'localhost' (using password: NO)\n",
    args: MY,
    expected: { engine: 'mysql', server: 'denied', error: "ERROR 1045 (28000): Access denied for user 'trywso2'@'localhost' (using password: NO)", privileges: [] },
  },
  { name: 'no client installed', stdout: 'server=no-client\n', args: MY, expected: { engine: 'mysql', server: 'no-client', privileges: [] } },
  { name: 'output cut short: an error, not "up"', stdout: 'db\tlatin1\tlatin1_swedish_ci\t3\n', args: MY, expected: { engine: 'mysql', server: 'error', error: 'no output from the database client', privileges: [] } },
  {
    name: 'postgresql: database owned by the user, all three privileges',
    stdout: 'db\tUTF8\tC.UTF-8\ttrypgwso2\nuser\ngrant\tCREATE\ngrant\tCONNECT\ngrant\tTEMPORARY\nserver=up\n',
    args: PG,
    expected: { engine: 'postgresql', server: 'up', user: true, database: { charset: 'UTF8', collation: 'C.UTF-8', owner: 'trypgwso2' }, privileges: ['CREATE', 'CONNECT', 'TEMPORARY'] },
  },
  {
    name: 'postgresql: server down',
    stdout: 'server=down\nerror=psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory  Is the server running locally and accepting connections on that socket?\n',
    args: PG,
    expected: { engine: 'postgresql', server: 'down', error: 'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file or directory  Is the server running locally and accepting connections on that socket?', privileges: [] },
  },
  {
    name: 'postgresql: no OS user for peer auth (the server is not installed)',
    stdout: 'server=no-server\nerror=runuser: user postgres does not exist or the user entry does not contain all the required fields\n',
    args: PG,
    expected: { engine: 'postgresql', server: 'no-server', error: 'runuser: user postgres does not exist or the user entry does not contain all the required fields', privileges: [] },
  },
];

for (const c of CAPTURED) {
  test(`database fact parse: ${c.name}`, () => assert.deepEqual(db.parse(c.stdout, c.args), c.expected));
}

test('database fact parse: without a user, no user field', () => {
  assert.deepEqual(db.parse('db\tutf8mb4\tutf8mb4_general_ci\t0\nserver=up\n', { ...MY, user: undefined }), {
    engine: 'mysql', server: 'up', database: { charset: 'utf8mb4', collation: 'utf8mb4_general_ci', tables: 0 }, privileges: [],
  });
});

const FAILED_ERROR = "--------------\nCREATE INDEX IDX_AC_AC_CKID ON IDN_OAUTH2_AUTHORIZATION_CODE(AUTHORIZATION_CODE, CONSUMER_KEY_ID)\n--------------\n\nERROR 1071 (42000) at line 1026: Specified key was too long; max key length is 3072 bytes\n";

test('ledger fact parse: captured MariaDB row of a failed script (names and errors travel as hex)', () => {
  const stdout = `db\nrow\t${hex('identity/mysql.sql').toUpperCase()}\tdce51bc4b2ac2b540f2c819910ec5d761a16417980d00258b9b7974117e36301\tfailed\t2026-12-04 14:08:14\t2026-12-04 14:08:15\t${hex(FAILED_ERROR).toUpperCase()}\nserver=up\n`;
  assert.deepEqual(ledger.parse(stdout, MY_LEDGER), {
    engine: 'mysql', server: 'up', database: true,
    rows: [{ name: 'identity/mysql.sql', sha256: 'dce51bc4b2ac2b540f2c819910ec5d761a16417980d00258b9b7974117e36301', status: 'failed', startedAt: '2026-12-04 14:08:14', finishedAt: '2026-12-04 14:08:15', error: FAILED_ERROR }],
  });
});

test('ledger fact parse: PostgreSQL rows and owner; no ledger table; no database', () => {
  const stdout = `db\nowner\ttrypgwso2\nrow\t${hex('consent/postgresql.sql')}\td9bee31a51593755f3fe5fa39dd6922dd7890f409c3c08706ed30548be8440f1\tapplied\t2026-12-04 14:08:56\t2026-12-04 14:08:56\t\nserver=up\n`;
  assert.deepEqual(ledger.parse(stdout, PG_LEDGER), {
    engine: 'postgresql', server: 'up', database: true, owner: 'trypgwso2',
    rows: [{ name: 'consent/postgresql.sql', sha256: 'd9bee31a51593755f3fe5fa39dd6922dd7890f409c3c08706ed30548be8440f1', status: 'applied', startedAt: '2026-12-04 14:08:56', finishedAt: '2026-12-04 14:08:56' }],
  });
  assert.deepEqual(ledger.parse('db\nserver=up\n', MY_LEDGER), { engine: 'mysql', server: 'up', database: true, rows: [] });
  assert.deepEqual(ledger.parse('server=up\n', MY_LEDGER), { engine: 'mysql', server: 'up', database: false, rows: [] });
});

function store(effects: Effect[]): EffectStore {
  const s = new EffectStore();
  effects.forEach((e, i) => s.record(e, `task ${i + 1}`));
  return s;
}
const INSTALL_MARIADB: Effect = { kind: 'package', name: 'mariadb-server', installed: true };

test('database fact refine: a server that an earlier task installs is empty, not a failure', () => {
  const value = db.parse('server=no-client\n', MY);
  assert.deepEqual(db.refine!(value, MY, store([INSTALL_MARIADB])), {
    engine: 'mysql', server: 'up', privileges: [], user: false, serverPlanned: 'package mariadb-server is installed by "task 1"',
  });
  assert.deepEqual(db.refine!(value, MY, store([{ kind: 'package', name: 'nginx', installed: true }])), value, 'another package brings no server');
  const down = db.parse("server=down\nerror=ERROR 2002 (HY000): Can't connect\n", MY);
  assert.equal((db.refine!(down, MY, store([{ kind: 'service', name: 'mariadb', exists: true, running: true }])) as DatabaseFact).serverPlanned, 'service mariadb is started by "task 1"');
  const denied = db.parse('server=denied\nerror=ERROR 1045\n', MY);
  assert.deepEqual(db.refine!(denied, MY, store([INSTALL_MARIADB])), denied, 'a refused login is not cured by an install');
  const pg = db.parse('server=no-client\n', PG);
  assert.equal((db.refine!(pg, PG, store([{ kind: 'package', name: 'postgresql-15', installed: true }])) as DatabaseFact).serverPlanned, 'package postgresql-15 is installed by "task 1"');
});

test('database fact refine: a user that an earlier database task creates counts as there', () => {
  const user: Effect = { kind: 'database', engine: 'mysql', object: 'user', name: 'wso2@%', state: 'present', fresh: true };
  const fresh = db.refine!(db.parse('server=no-client\n', MY), MY, store([INSTALL_MARIADB, user])) as DatabaseFact;
  assert.equal(fresh.user, true);
  assert.equal(fresh.userPlanned, '"task 2"');
  const onHost = db.refine!(db.parse('\nserver=up\n', MY), MY, store([user])) as DatabaseFact;
  assert.deepEqual(onHost, { engine: 'mysql', server: 'up', user: true, privileges: [], userPlanned: '"task 1"' });
  const otherHost = db.refine!(db.parse('\nserver=up\n', MY), { ...MY, host: 'localhost' }, store([user])) as DatabaseFact;
  assert.equal(otherHost.user, false, 'wso2@localhost is another account');
});

test('ledger fact fromEffects and refine: created, dropped, altered, server still to come', () => {
  const created: Effect = { kind: 'database', engine: 'mysql', object: 'database', name: 'IdentityDB', state: 'present', fresh: true };
  assert.deepEqual(ledger.fromEffects!(MY_LEDGER, store([created])), { engine: 'mysql', server: 'up', database: true, rows: [], planned: '"task 1"' });
  assert.deepEqual(ledger.fromEffects!(MY_LEDGER, store([{ ...created, state: 'absent', fresh: undefined }])), { engine: 'mysql', server: 'up', database: false, rows: [], planned: '"task 1"' });
  assert.equal(ledger.fromEffects!(MY_LEDGER, store([{ ...created, fresh: undefined }])), undefined, 'an altered database is asked about');
  assert.equal(ledger.fromEffects!(MY_LEDGER, store([{ ...created, engine: 'postgresql' }])), undefined, 'another engine');
  assert.equal(ledger.fromEffects!(MY_LEDGER, store([])), undefined);
  const later = ledger.refine!(ledger.parse('server=no-client\n', MY_LEDGER), MY_LEDGER, store([INSTALL_MARIADB]));
  assert.ok(later instanceof Unknowable);
  assert.equal(later.because, 'the server is not up yet (package mariadb-server is installed by "task 1"), and no earlier task creates database IdentityDB');
  const up = ledger.parse('db\nserver=up\n', MY_LEDGER);
  assert.equal(ledger.refine!(up, MY_LEDGER, store([INSTALL_MARIADB])), up);
});

test('fact commands: hostile names reach the client as SQL literals in one argument; a login password only as env', () => {
  const bin = mkdtempSync(path.join(tmpdir(), 'isp-fakebin-'));
  const argv = path.join(bin, 'argv');
  // A stand-in client that records its arguments, so the shell quoting is checked without a server.
  writeFileSync(path.join(bin, 'mysql'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > ${argv}\n`, { mode: 0o755 });
  const hostile: DatabaseFactArgs = { engine: 'mysql', name: "x'; DROP DATABASE y; -- $(id)", user: "u'\\`", host: '%', login: { user: 'ad min' } };
  const r = runSh(db.command(hostile).text, { env: { PATH: `${bin}:/usr/bin:/bin` } });
  assert.equal(r.code, 0, r.stderr);
  const args = readFileSync(argv, 'utf8').split('\0').slice(0, -1);
  assert.deepEqual(args.slice(0, 5), ['--batch', '--skip-column-names', '--default-character-set=utf8mb4', '--user=ad min', '--loose-skip-print-query-on-error']);
  assert.match(args[5]!, /^--init-command=SET SESSION sql_mode/);
  assert.equal(args[6], '-e');
  assert.ok(args[7]!.includes("WHERE BINARY s.SCHEMA_NAME = 'x\\'; DROP DATABASE y; -- $(id)';"), args[7]);
  assert.ok(args[7]!.includes("WHERE BINARY User = 'u\\'\\\\`'"), args[7]);
  const env = (databaseFact.definition as unknown as { env(a: unknown): Record<string, unknown> }).env;
  assert.deepEqual(Object.keys(env({ ...MY, login: { password: {} } })), ['MYSQL_PWD']);
  assert.deepEqual(Object.keys(env({ ...PG, login: { password: {} } })), ['PGPASSWORD']);
  assert.deepEqual(env(MY), {});
});

test('fact command without a client on PATH reports no-client and exits 0', () => {
  const bin = mkdtempSync(path.join(tmpdir(), 'isp-nobin-'));
  symlinkSync('/bin/sh', path.join(bin, 'sh'));
  for (const [fact, args] of [[db, MY], [db, PG], [ledger, MY_LEDGER], [ledger, PG_LEDGER]] as const) {
    const r = runSh(fact.command(args as never).text, { env: { PATH: bin } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'server=no-client\n');
  }
});

// Real servers on this machine, where installed and running (see sql-local.ts).
const cleanups: (() => void)[] = [];
after(() => cleanups.reverse().forEach((c) => c()));

test('database and ledger facts against MariaDB', () => {
  requireServer(mysqlMissing());
  const name = uniqueName('isp_fact');
  const user = uniqueName('ispu');
  const here = (args: DatabaseFactArgs): DatabaseFact => db.parse(runSh(db.command(args).text).stdout.toString(), args);
  const ledgerHere = (args: LedgerFactArgs): LedgerFact => ledger.parse(runSh(ledger.command(args).text).stdout.toString(), args);
  const args: DatabaseFactArgs = { engine: 'mysql', name, user, host: '%', login: {} };
  assert.deepEqual(here(args), { engine: 'mysql', server: 'up', user: false, privileges: [] });
  assert.deepEqual(ledgerHere({ engine: 'mysql', database: name, login: {} }), { engine: 'mysql', server: 'up', database: false, rows: [] });
  cleanups.push(() => mysqlHere(`DROP DATABASE IF EXISTS \`${name}\`; DROP USER IF EXISTS '${user}'@'%'`));
  mysqlHere(`CREATE DATABASE \`${name}\` CHARACTER SET latin1; CREATE USER '${user}'@'%'; GRANT SELECT, INSERT ON \`${name.replace(/_/g, '\\_')}\`.* TO '${user}'@'%'; CREATE TABLE \`${name}\`.t (a int)`);
  assert.deepEqual(here(args), { engine: 'mysql', server: 'up', user: true, database: { charset: 'latin1', collation: 'latin1_swedish_ci', tables: 1 }, privileges: ['SELECT', 'INSERT'] });
  assert.equal(here({ ...args, name: name.toUpperCase() }).database, undefined, 'database names are case-sensitive');
  assert.deepEqual(ledgerHere({ engine: 'mysql', database: name, login: {} }), { engine: 'mysql', server: 'up', database: true, rows: [] });
  mysqlHere(`CREATE TABLE \`${name}\`.is_provision_ledger (name VARCHAR(255) PRIMARY KEY, sha256 CHAR(64), status VARCHAR(16), started_at DATETIME(6), finished_at DATETIME(6), error TEXT); INSERT INTO \`${name}\`.is_provision_ledger VALUES ('a\\tb\\nc', '${'0'.repeat(64)}', 'failed', '2026-01-02 03:04:05.5', NULL, 'x\\ty\\nz')`);
  assert.deepEqual(ledgerHere({ engine: 'mysql', database: name, login: {} }).rows, [{ name: 'a\tb\nc', sha256: '0'.repeat(64), status: 'failed', startedAt: '2026-01-02 03:04:05', error: 'x\ty\nz' }]);
  const refused = here({ ...args, login: { user } });
  assert.equal(refused.server, 'error', 'a user without rights on mysql.user is reported, not taken for "absent"');
});

test('database and ledger facts against PostgreSQL', () => {
  requireServer(postgresMissing());
  const name = uniqueName('isp_fact');
  const user = uniqueName('ispu');
  const here = (args: DatabaseFactArgs): DatabaseFact => db.parse(runSh(db.command(args).text).stdout.toString(), args);
  const args: DatabaseFactArgs = { engine: 'postgresql', name, user, login: {} };
  assert.deepEqual(here(args), { engine: 'postgresql', server: 'up', user: false, privileges: [] });
  cleanups.push(() => {
    psqlHere(`DROP DATABASE IF EXISTS "${name}"`);
    psqlHere(`DROP ROLE IF EXISTS "${user}"`);
  });
  psqlHere(`CREATE ROLE "${user}" LOGIN`);
  psqlHere(`CREATE DATABASE "${name}" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  psqlHere(`REVOKE ALL ON DATABASE "${name}" FROM PUBLIC; GRANT CONNECT ON DATABASE "${name}" TO "${user}"`);
  assert.deepEqual(here(args), { engine: 'postgresql', server: 'up', user: true, database: { charset: 'LATIN1', collation: 'C', owner: 'postgres' }, privileges: ['CONNECT'] });
  const l = ledger.parse(runSh(ledger.command({ engine: 'postgresql', database: name, login: {} }).text).stdout.toString(), { engine: 'postgresql', database: name, login: {} });
  assert.deepEqual(l, { engine: 'postgresql', server: 'up', database: true, owner: 'postgres', rows: [] });
  const peer = here({ ...args, login: { user: 'no_such_os_user' } });
  assert.equal(peer.server, 'no-server');
});
