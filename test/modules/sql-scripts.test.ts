import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { databaseFact, sqlLedgerFact, type LedgerFact, type LedgerRow } from '../../src/facts/database.js';
import { EffectStore } from '../../src/facts/effects.js';
import { database, decideDatabase, planDatabase } from '../../src/modules/database.js';
import { TaskFailure } from '../../src/modules/decision.js';
import { decideSqlScripts, sqlScripts, sqlScriptsModule, type SqlScriptsOptions, type SqlScriptsPlan } from '../../src/modules/sql-scripts.js';
import { scriptRunCommand } from '../../src/modules/sql-ledger.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { Secret } from '../../src/shell/secret.js';
import { wrap } from '../../src/shell/wrap.js';
import { runSh } from '../shell/run-sh.js';
import { mysqlHere, mysqlMissing, postgresMissing, prepareContext, psqlHere, runLocal, uniqueName, requireServer } from './sql-local.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const DIR = mkdtempSync(path.join(tmpdir(), 'isp-sql-'));
writeFileSync(path.join(DIR, 'a.sql'), 'CREATE TABLE a (id INT);\n');
mkdirSync(path.join(DIR, 'pack', 'dbscripts'), { recursive: true });
writeFileSync(path.join(DIR, 'pack', 'dbscripts', 'b.sql'), 'CREATE TABLE b (id INT);\n');
writeFileSync(path.join(DIR, 'pack', 'dbscripts', 'c.sql'), 'INSERT INTO b VALUES (1);\n');
execFileSync('zip', ['-q', '-r', path.join(DIR, 'pack.zip'), 'pack'], { cwd: DIR });

const errorOf = (o: SqlScriptsOptions): string => {
  try {
    sqlScripts(o);
  } catch (error) {
    assert.ok(error instanceof PlaybookError);
    return (error as Error).message.replace(/^\S+:\d+: /, '');
  }
  return 'no error';
};

test('sqlScripts options are checked when the task is built', () => {
  const base = { engine: 'mysql' as const, database: 'IdentityDB' };
  const cases: [SqlScriptsOptions, string][] = [
    [{ ...base, scripts: [] }, 'sqlScripts: scripts must be a non-empty array'],
    [{ ...base, scripts: ['a.sql', { path: 'a.sql' }] }, 'sqlScripts: two scripts are named "a.sql": names are their keys in the ledger'],
    [{ ...base, scripts: [{ content: 'SELECT 1' }] }, 'sqlScripts: scripts[0]: a script given as content needs a name'],
    [{ ...base, scripts: [{ name: 'x', path: 'a.sql', content: 'SELECT 1' }] }, 'sqlScripts: scripts[0] needs exactly one of path, fromArchive and content'],
    [{ ...base, scripts: [{ name: 'x', fromArchive: { archive: 'p.zip' } as never }] }, 'sqlScripts: scripts[0].fromArchive needs { archive, entry } strings'],
    [{ ...base, scripts: [{ name: 'x', file: 'a.sql' } as never] }, 'sqlScripts: scripts[0]: unknown key "file" (name, path, fromArchive, content)'],
    [{ ...base, scripts: [{ name: 'a\tb', content: 'x' }] }, 'sqlScripts: scripts[0]: script name "a\\tb" holds a control character'],
    [{ ...base, scripts: ['a.sql'], role: 'wso2' }, 'sqlScripts: role is for postgresql only'],
    [{ ...base, database: 'a/b', scripts: ['a.sql'] }, 'sqlScripts: database name "a/b" cannot hold "/", "\\" or "." nor end with a space in MySQL'],
  ];
  for (const [o, message] of cases) assert.equal(errorOf(o), message);
});

async function prepared(o: SqlScriptsOptions): Promise<SqlScriptsPlan> {
  return sqlScriptsModule.prepare!(sqlScripts(o).options, prepareContext(DIR)) as Promise<SqlScriptsPlan>;
}

test('prepare reads files, content and zip entries (the DB host needs no pack), with their sha256', async () => {
  const plan = await prepared({
    engine: 'mysql',
    database: 'IdentityDB',
    scripts: [
      'a.sql',
      { name: 'b', fromArchive: { archive: 'pack.zip', entry: 'pack/dbscripts/b.sql' } },
      { fromArchive: { archive: path.join(DIR, 'pack.zip'), entry: 'pack/dbscripts/c.sql' } },
      { name: 'inline', content: 'SELECT 1;\n' },
    ],
  });
  assert.deepEqual(
    plan.scripts.map((s) => [s.name, s.sha256, s.content.toString()]),
    [
      ['a.sql', sha('CREATE TABLE a (id INT);\n'), 'CREATE TABLE a (id INT);\n'],
      ['b', sha('CREATE TABLE b (id INT);\n'), 'CREATE TABLE b (id INT);\n'],
      ['pack/dbscripts/c.sql', sha('INSERT INTO b VALUES (1);\n'), 'INSERT INTO b VALUES (1);\n'],
      ['inline', sha('SELECT 1;\n'), 'SELECT 1;\n'],
    ],
  );
  await assert.rejects(prepared({ engine: 'mysql', database: 'X', scripts: [{ fromArchive: { archive: 'pack.zip', entry: 'pack/nope.sql' } }] }), (e: unknown) =>
    e instanceof PlaybookError && e.message.endsWith(`sqlScripts: cannot read ${path.join(DIR, 'pack.zip')}: ${path.join(DIR, 'pack.zip')} has no entry "pack/nope.sql"`));
  await assert.rejects(prepared({ engine: 'mysql', database: 'X', scripts: [{ fromArchive: { archive: 'missing.zip', entry: 'x' } }] }), /cannot read .*missing\.zip: ENOENT/);
});

const script = (name: string, content = `-- ${name}\n`) => ({ name, sha256: sha(content), content: Buffer.from(content) });
const PLAN: SqlScriptsPlan = { engine: 'mysql', database: 'IdentityDB', login: {}, scripts: [script('identity/mysql.sql'), script('identity/uma/mysql.sql'), script('consent/mysql.sql')] };
const row = (name: string, extra: Partial<LedgerRow> = {}): LedgerRow => ({ name, sha256: sha(`-- ${name}\n`), status: 'applied', startedAt: '2026-12-04 14:08:05', finishedAt: '2026-12-04 14:08:06', ...extra });
const ledger = (rows: LedgerRow[], extra: Partial<LedgerFact> = {}): LedgerFact => ({ engine: 'mysql', server: 'up', database: true, rows, ...extra });
const short = (name: string) => sha(`-- ${name}\n`).slice(0, 12);

test('sqlScripts decide: all applied → noop naming each script and its sha256', () => {
  const d = decideSqlScripts(PLAN, ledger([row('identity/mysql.sql'), row('identity/uma/mysql.sql'), row('consent/mysql.sql'), row('something else')]), { dryRun: false });
  assert.deepEqual(d, {
    kind: 'noop',
    reason: `3 scripts applied in IdentityDB: identity/mysql.sql (sha256 ${short('identity/mysql.sql')}), identity/uma/mysql.sql (sha256 ${short('identity/uma/mysql.sql')}), consent/mysql.sql (sha256 ${short('consent/mysql.sql')})`,
  });
});

test('sqlScripts decide: pending scripts in order, one step each, the SQL on stdin', () => {
  const d = decideSqlScripts(PLAN, ledger([row('identity/uma/mysql.sql')]), { dryRun: true });
  assert.equal(d.kind, 'change');
  assert.equal(d.reason, `would run 2 scripts in IdentityDB, once each: identity/mysql.sql (sha256 ${short('identity/mysql.sql')}), consent/mysql.sql (sha256 ${short('consent/mysql.sql')}); already applied: identity/uma/mysql.sql`);
  assert.ok(d.kind === 'change');
  assert.deepEqual(d.steps.map((s) => s.kind === 'exec' && [s.label, String(s.stdin), s.env]), [
    ['run identity/mysql.sql in IdentityDB', '-- identity/mysql.sql\n', undefined],
    ['run consent/mysql.sql in IdentityDB', '-- consent/mysql.sql\n', undefined],
  ]);
  const first = d.steps[0]!;
  assert.ok(first.kind === 'exec');
  assert.equal(first.command.text, scriptRunCommand({ engine: 'mysql', database: 'IdentityDB', login: {}, name: 'identity/mysql.sql', sha256: sha('-- identity/mysql.sql\n') }).text);
  const withLogin = decideSqlScripts({ ...PLAN, login: { user: 'admin', password: new Secret('pw') } }, ledger([]), { dryRun: false });
  assert.ok(withLogin.kind === 'change' && withLogin.steps[0]!.kind === 'exec');
  assert.deepEqual(Object.keys(withLogin.steps[0]!.env!), ['MYSQL_PWD']);
  assert.equal(withLogin.reason.slice(0, 31), 'ran 3 scripts in IdentityDB, on');
});

test('the step of one script: exact shell for MySQL; PostgreSQL runs it in one transaction as the owner', () => {
  const text = scriptRunCommand({ engine: 'mysql', database: 'Id DB', login: { user: 'admin' }, name: "it's.sql", sha256: 'ab'.repeat(32) }).text;
  const lines = text.split('\n');
  assert.match(lines[0]!, /^sqlc\(\) \{ mysql --batch --skip-column-names --default-character-set=utf8mb4 --user=admin --loose-skip-print-query-on-error '--init-command=SET SESSION sql_mode = /);
  assert.equal(lines[1], 'sqls() { mysql --batch --skip-column-names --default-character-set=utf8mb4 --user=admin "$@"; }');
  assert.ok(lines.includes(`printf '%s\\n' "$ledger_begin" | sqlc '--database=Id DB' || { echo 'cannot record the start of it'\\''s.sql in the ledger' >&2; exit 1; }`), text);
  assert.ok(lines.includes(`sqls '--database=Id DB' 2>"$errors"`), text);
  assert.ok(lines.includes(String.raw`ledger_done='UPDATE is_provision_ledger SET status = '\''applied'\'', finished_at = UTC_TIMESTAMP(6), error = NULL WHERE name = '\''it\'\''s.sql'\'' AND status = '\''running'\'';'`), text);
  const pg = scriptRunCommand({ engine: 'postgresql', database: 'IdentityDB', login: {}, name: 'x', sha256: 'ab'.repeat(32), role: 'wso2' }).text;
  assert.ok(pg.split('\n').includes(`sqls -d IdentityDB --single-transaction -c 'SET ROLE "wso2"' -f - 2>"$errors"`), pg);
  const owner = decideSqlScripts({ ...PLAN, engine: 'postgresql' }, ledger([], { engine: 'postgresql', owner: 'wso2' }), { dryRun: false });
  assert.ok(owner.kind === 'change' && owner.steps[0]!.kind === 'exec' && owner.steps[0]!.command.text.includes(`-c 'SET ROLE "wso2"'`), 'default role: the owner');
  const self = decideSqlScripts({ ...PLAN, engine: 'postgresql' }, ledger([], { engine: 'postgresql', owner: 'postgres' }), { dryRun: false });
  assert.ok(self.kind === 'change' && self.steps[0]!.kind === 'exec' && !self.steps[0]!.command.text.includes('SET ROLE'));
});

const failure = (plan: SqlScriptsPlan, fact: LedgerFact): string => {
  try {
    decideSqlScripts(plan, fact, { dryRun: false });
  } catch (error) {
    assert.ok(error instanceof TaskFailure, String(error));
    return error.message;
  }
  return 'no failure';
};

test('sqlScripts decide: a changed script is refused, not re-applied', () => {
  assert.equal(
    failure(PLAN, ledger([row('identity/mysql.sql', { sha256: 'f'.repeat(64) })])),
    `script identity/mysql.sql changed since it was applied on 2026-12-04 14:08:06 UTC (sha256 ffffffffffff → ${short('identity/mysql.sql')}); scripts are not re-run. To apply a new version, add the changes as a new script under a new name (the ledger keeps one row per name), or restore the original script; to start over, drop and recreate IdentityDB (database with state 'absent', then 'present')`,
  );
});

test('sqlScripts decide: a script that failed or never finished is refused with what to do', () => {
  const error = '--------------\nCREATE INDEX IDX_AC_AC_CKID ON IDN_OAUTH2_AUTHORIZATION_CODE(AUTHORIZATION_CODE, CONSUMER_KEY_ID)\n--------------\n\nERROR 1071 (42000) at line 1026: Specified key was too long; max key length is 3072 bytes\n';
  const advice = "MySQL/MariaDB commits DDL statement by statement, so IdentityDB may hold part of the script; it is not re-run blindly. Either restore IdentityDB from a backup or drop and recreate it (database with state 'absent', then 'present') to run every script again, or, if you completed the script by hand, mark it applied in IdentityDB: `UPDATE is_provision_ledger SET status = 'applied', finished_at = UTC_TIMESTAMP(6) WHERE name = 'identity/mysql.sql';`";
  assert.equal(
    failure(PLAN, ledger([row('identity/mysql.sql', { status: 'failed', error, finishedAt: '2026-12-04 14:08:15' })])),
    `script identity/mysql.sql failed at 2026-12-04 14:08:15 UTC: ERROR 1071 (42000) at line 1026: Specified key was too long; max key length is 3072 bytes. ${advice}`,
  );
  assert.equal(
    failure(PLAN, ledger([row('identity/mysql.sql', { status: 'running', finishedAt: undefined })])),
    `script identity/mysql.sql was started at 2026-12-04 14:08:05 UTC and never finished (its ledger row is still 'running': the run was cut off, or is still going). ${advice}`,
  );
  const pg = { ...PLAN, engine: 'postgresql' as const };
  assert.equal(
    failure(pg, ledger([row('consent/mysql.sql', { status: 'running', finishedAt: undefined })], { engine: 'postgresql' })),
    "script consent/mysql.sql was started at 2026-12-04 14:08:05 UTC and never finished (its ledger row is still 'running': the run was cut off, or is still going). PostgreSQL runs a script in one transaction, so IdentityDB holds all of it (if only marking it applied was lost) or none of it: check which, then in IdentityDB either mark it applied: `UPDATE public.is_provision_ledger SET status = 'applied', finished_at = clock_timestamp() WHERE name = 'consent/mysql.sql';`, or forget the run to run it again: `DELETE FROM public.is_provision_ledger WHERE name = 'consent/mysql.sql';`",
  );
  assert.equal(
    failure(pg, ledger([row('identity/mysql.sql', { status: 'failed', error: 'psql:<stdin>:2: ERROR:  column "x" does not exist\nLINE 1: SELECT x\n               ^\n' })], { engine: 'postgresql' })),
    'script identity/mysql.sql failed at 2026-12-04 14:08:06 UTC: psql:<stdin>:2: ERROR:  column "x" does not exist. PostgreSQL ran it in one transaction and rolled it back, so IdentityDB holds none of it: fix the script, then forget the failed run with `DELETE FROM public.is_provision_ledger WHERE name = \'identity/mysql.sql\';` in IdentityDB to run it again',
  );
});

test('sqlScripts decide: no database, no server', () => {
  assert.equal(failure(PLAN, ledger([], { database: false })), `database IdentityDB does not exist; create it first, with database({ engine: 'mysql', name: "IdentityDB" })`);
  assert.equal(failure(PLAN, ledger([], { database: false, planned: '"drop it"' })), `database IdentityDB does not exist (it is dropped by "drop it"); create it first, with database({ engine: 'mysql', name: "IdentityDB" })`);
  assert.equal(failure(PLAN, { engine: 'mysql', server: 'no-client', database: false, rows: [] }), 'the mysql client is not installed on the host; install mariadb-server (or mariadb-client for a remote server) in an earlier task');
});

test('dry-run on a fresh host: packages, then database, then sqlScripts would run, instead of failing', () => {
  const effects = new EffectStore();
  effects.record({ kind: 'package', name: 'mariadb-server', installed: true }, 'packages');
  const dbPlan = planDatabase(database({ engine: 'mysql', name: 'IdentityDB', user: 'wso2', password: new Secret('pw'), charset: 'latin1' }).options);
  const dbArgs = { engine: 'mysql' as const, name: 'IdentityDB', user: 'wso2', host: '%', login: {} };
  const hostAnswer = databaseFact.definition.parse('server=no-client\n', dbArgs);
  const fact = databaseFact.definition.refine!(hostAnswer, dbArgs, effects);
  const d = decideDatabase(dbPlan, fact as never);
  assert.ok(d.kind === 'change');
  assert.equal(d.reason, 'create user wso2@% (password ***), create database IdentityDB (latin1), grant ALL on IdentityDB to wso2@% (the server is not there yet: package mariadb-server is installed by "packages")');
  for (const e of d.effects ?? []) effects.record(e, 'database IdentityDB and user wso2');
  const known = sqlLedgerFact.definition.fromEffects!({ engine: 'mysql', database: 'IdentityDB', login: {} }, effects);
  const s = decideSqlScripts(PLAN, known as LedgerFact, { dryRun: true });
  assert.equal(s.reason, `would run 3 scripts in IdentityDB, once each: ${PLAN.scripts.map((x) => `${x.name} (sha256 ${x.sha256.slice(0, 12)})`).join(', ')} (database IdentityDB is created by an earlier task, "database IdentityDB and user wso2")`);
});

// Real servers on this machine.
const cleanups: (() => void)[] = [];
after(() => cleanups.reverse().forEach((c) => c()));

test('sqlScripts on MariaDB: once each; changed refused; a failure leaves a failed row and is refused; marking it applied by hand', async () => {
  requireServer(mysqlMissing());
  const db = uniqueName('isp_scripts');
  cleanups.push(() => mysqlHere(`DROP DATABASE IF EXISTS \`${db}\``));
  mysqlHere(`CREATE DATABASE \`${db}\``);
  const task = (scripts: SqlScriptsOptions['scripts']) => sqlScripts({ engine: 'mysql', database: db, scripts });
  const good = [{ name: 'one', content: 'CREATE TABLE t (a INT);\nCREATE INDEX t_a ON t (a);\n' }, { name: 'two', content: "INSERT INTO t VALUES (1);\n" }];
  const first = await runLocal(task(good));
  assert.equal(first.status, 'changed', JSON.stringify(first.error));
  assert.equal(first.reason, `ran 2 scripts in ${db}, once each: one (sha256 ${sha(good[0]!.content).slice(0, 12)}), two (sha256 ${sha(good[1]!.content).slice(0, 12)})`);
  assert.equal(mysqlHere(`SELECT name, status, error IS NULL FROM \`${db}\`.is_provision_ledger ORDER BY name`), 'one\tapplied\t1\ntwo\tapplied\t1\n');
  const again = await runLocal(task(good));
  assert.equal(again.status, 'ok');
  assert.equal(mysqlHere(`SELECT COUNT(*) FROM \`${db}\`.t`), '1\n', 'the INSERT ran once');
  const changed = await runLocal(task([good[0]!, { name: 'two', content: 'INSERT INTO t VALUES (2);\n' }]));
  assert.equal(changed.status, 'failed');
  assert.match(changed.reason, /^script two changed since it was applied on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(sha256 /);

  const bad = { name: 'three', content: 'CREATE TABLE u (a INT);\nINSERT INTO nosuch VALUES (1);\nCREATE TABLE never (a INT);\n' };
  const broken = await runLocal(task([...good, bad]));
  assert.equal(broken.status, 'failed');
  assert.match(broken.reason, /^command failed with exit code 1: three failed: ERROR 1146 \(42S02\) at line 2: Table '.*\.nosuch' doesn't exist$/);
  assert.equal(mysqlHere(`SELECT status FROM \`${db}\`.is_provision_ledger WHERE name = 'three'`), 'failed\n');
  assert.equal(mysqlHere(`SHOW TABLES FROM \`${db}\` LIKE 'u'`), 'u\n', 'MySQL kept the first half');
  assert.equal(mysqlHere(`SHOW TABLES FROM \`${db}\` LIKE 'never'`), '', 'and stopped at the error');
  const refused = await runLocal(task([...good, bad]));
  assert.equal(refused.status, 'failed');
  assert.match(refused.reason, /^script three failed at .* UTC: ERROR 1146 \(42S02\) at line 2: Table '.*\.nosuch' doesn't exist\. MySQL\/MariaDB commits DDL/);
  const markApplied = /mark it applied in [^:]+: `([^`]+)`/.exec(refused.reason)![1]!;
  mysqlHere(`USE \`${db}\`; ${markApplied}`);
  assert.equal((await runLocal(task([...good, bad]))).status, 'ok', 'marked applied by hand, as the message says');

  mysqlHere(`INSERT INTO \`${db}\`.is_provision_ledger (name, sha256, status, started_at) VALUES ('four', '${sha('x')}', 'running', UTC_TIMESTAMP())`);
  const cut = await runLocal(task([{ name: 'four', content: 'x' }]));
  assert.match(cut.reason, /^script four was started at .* UTC and never finished/);
});

test('sqlScripts steps with a login password: MYSQL_PWD reaches the client over stdin, then the script', () => {
  requireServer(mysqlMissing());
  const db = uniqueName('isp_login');
  const user = uniqueName('ispu');
  const password = new Secret("p'w\\d");
  cleanups.push(() => mysqlHere(`DROP DATABASE IF EXISTS \`${db}\`; DROP USER IF EXISTS '${user}'@'localhost'`));
  mysqlHere(`CREATE DATABASE \`${db}\`; CREATE USER '${user}'@'localhost' IDENTIFIED BY 'p\\'w\\\\d'; GRANT ALL ON \`${db}\`.* TO '${user}'@'localhost'`);
  const login = { user, password };
  const args = { engine: 'mysql' as const, database: db, login };
  // Until the engine hands facts their env, the test does it: the same variable the step gets.
  const fact = sqlLedgerFact.definition.parse(runSh(sqlLedgerFact.definition.command(args).text, { env: { PATH: process.env.PATH!, MYSQL_PWD: password.reveal() } }).stdout.toString(), args);
  assert.deepEqual(fact, { engine: 'mysql', server: 'up', database: true, rows: [] });
  const d = decideSqlScripts({ engine: 'mysql', database: db, login, scripts: [script('create', 'CREATE TABLE v (a INT);\n')] }, fact, { dryRun: false });
  assert.ok(d.kind === 'change');
  for (const step of d.steps) {
    assert.ok(step.kind === 'exec');
    const prepared = wrap(step.command, { env: step.env! });
    assert.ok(!prepared.command.includes("p'w"), 'not on the command line');
    const r = spawnSync('sh', ['-c', prepared.command], { input: Buffer.concat([Buffer.from(prepared.stdinPrefix), step.stdin as Buffer]), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  assert.equal(mysqlHere(`SELECT status FROM \`${db}\`.is_provision_ledger`), 'applied\n');
  assert.equal(mysqlHere(`SHOW TABLES FROM \`${db}\` LIKE 'v'`), 'v\n');
});

test('sqlScripts on PostgreSQL: as the owner, once; a failure rolls back whole and says how to run it again', async () => {
  requireServer(postgresMissing());
  const db = uniqueName('isp_scripts');
  const owner = uniqueName('ispu');
  cleanups.push(() => {
    psqlHere(`DROP DATABASE IF EXISTS "${db}"`);
    psqlHere(`DROP ROLE IF EXISTS "${owner}"`);
  });
  psqlHere(`CREATE ROLE "${owner}" LOGIN`);
  psqlHere(`CREATE DATABASE "${db}" OWNER "${owner}"`);
  const task = (scripts: SqlScriptsOptions['scripts']) => sqlScripts({ engine: 'postgresql', database: db, scripts });
  const good = { name: 'one', content: 'CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n' };
  assert.equal((await runLocal(task([good]))).status, 'changed');
  assert.equal(psqlHere(`SELECT tableowner FROM pg_tables WHERE tablename = 't'`, db), `${owner}\n`, 'the owner owns what the script made');
  assert.equal((await runLocal(task([good]))).status, 'ok');
  const bad = { name: 'two', content: 'CREATE TABLE u (a INT);\nSELECT nosuch FROM t;\n' };
  const broken = await runLocal(task([good, bad]));
  assert.match(broken.reason, /^command failed with exit code 3: two failed: psql:<stdin>:2: ERROR:  column "nosuch" does not exist$/);
  assert.equal(psqlHere(`SELECT count(*) FROM pg_tables WHERE tablename = 'u'`, db), '0\n', 'rolled back whole');
  const refused = await runLocal(task([good, bad]));
  const forget = /forget the failed run with `([^`]+)`/.exec(refused.reason)![1]!;
  psqlHere(forget, db);
  const fixed = await runLocal(task([good, { name: 'two', content: 'CREATE TABLE u (a INT);\n' }]));
  assert.equal(fixed.status, 'changed', fixed.reason);
  assert.equal(psqlHere(`SELECT name || ':' || status FROM public.is_provision_ledger ORDER BY name`, db), 'one:applied\ntwo:applied\n');
});
