import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EffectStore } from '../../src/facts/effects.js';
import { database } from '../../src/modules/database.js';
import { sqlScripts, sqlScriptsModule, type SqlScriptsPlan } from '../../src/modules/sql-scripts.js';
import { Secret } from '../../src/shell/secret.js';
import { mysqlHere, mysqlMissing, postgresMissing, prepareContext, psqlHere, runLocal, uniqueName, requireServer } from '../modules/sql-local.js';

/**
 * The real DB scripts of the WSO2 IS 5.10.0 pack (shared/fixtures, beside the repository; never copied
 * into it): their checksums, what makes them need latin1 on MariaDB, read straight from a zip as the
 * cluster playbook does, and run for real where a server is installed here.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.resolve(REPO, '../shared/fixtures');
const PACK = 'wso2is-5.10.0';
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The databases and scripts of the 5.10 docs, as SOURCES.md maps them. */
const SCRIPTS = (engine: 'mysql' | 'postgresql') => ({
  IdentityDB: [`dbscripts/identity/${engine}.sql`, `dbscripts/identity/uma/${engine}.sql`, `dbscripts/consent/${engine}.sql`],
  SharedDB: [`dbscripts/${engine}.sql`],
  PrimaryUserStore: [`dbscripts/${engine}.sql`],
});

test('the fixtures are there, beside the repository', () => {
  assert.ok(existsSync(path.join(FIXTURES, PACK, 'dbscripts')), `${FIXTURES}/${PACK}/dbscripts is missing`);
});

function sourcesSha(): Map<string, string> {
  const text = readFileSync(path.join(FIXTURES, 'SOURCES.md'), 'utf8');
  const block = /## SHA-256\s+```\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  return new Map(block.trim().split('\n').map((l) => l.split(/\s+/)).map(([h, p]) => [p!, h!]));
}

test('every DB script matches the sha256 that SOURCES.md lists', () => {
  const listed = sourcesSha();
  const scripts = [...new Set([...Object.values(SCRIPTS('mysql')).flat(), ...Object.values(SCRIPTS('postgresql')).flat()])];
  assert.equal(scripts.length, 8);
  for (const s of scripts) assert.equal(sha(readFileSync(path.join(FIXTURES, PACK, s))), listed.get(`${PACK}/${s}`), s);
});

// The pack's dbscripts folder zipped as in the pack (<IS_HOME>/dbscripts/...), in a temp dir.
const WORK = mkdtempSync(path.join(tmpdir(), 'isp-wso2-'));
const ZIP = path.join(WORK, `${PACK}.zip`);
execFileSync('zip', ['-q', '-r', ZIP, `${PACK}/dbscripts`], { cwd: FIXTURES });

const fromPack = (engine: 'mysql' | 'postgresql', db: keyof ReturnType<typeof SCRIPTS>) =>
  SCRIPTS(engine)[db].map((s) => ({ name: s, fromArchive: { archive: `${PACK}.zip`, entry: `${PACK}/${s}` } }));

test('prepare reads the scripts straight from the zip, byte for byte (sha256 as in SOURCES.md)', async () => {
  const listed = sourcesSha();
  for (const engine of ['mysql', 'postgresql'] as const) {
    const task = sqlScripts({ engine, database: 'IdentityDB', scripts: fromPack(engine, 'IdentityDB') });
    const plan = (await sqlScriptsModule.prepare!(task.options, prepareContext(WORK))) as SqlScriptsPlan;
    assert.deepEqual(plan.scripts.map((s) => [s.name, s.sha256]), SCRIPTS(engine).IdentityDB.map((s) => [s, listed.get(`${PACK}/${s}`)]));
  }
});

test('the scripts go to the client verbatim: nothing in them that needs our own statement handling', () => {
  for (const engine of ['mysql', 'postgresql'] as const) {
    for (const s of new Set(Object.values(SCRIPTS(engine)).flat())) {
      const text = readFileSync(path.join(FIXTURES, PACK, s), 'utf8');
      // Client commands and delimiters would be the client's business; psql meta-commands or
      // statements that cannot run in a transaction would break --single-transaction.
      assert.doesNotMatch(text, /^\s*(DELIMITER|\\)/im, `${s}: client command`);
      assert.doesNotMatch(text, /CONCURRENTLY|VACUUM|CREATE DATABASE/i, `${s}: statement outside a transaction`);
    }
  }
  // mysql reads a line that opens with a client command word (STATUS) as a command only at the start
  // of a statement; the identity script has such column lines, which the real run below shows pass.
  assert.match(readFileSync(path.join(FIXTURES, PACK, 'dbscripts/identity/mysql.sql'), 'utf8'), /^\s+STATUS VARCHAR/m);
});

/** Longest index key of a MySQL script, in bytes, at so many bytes per character. */
function indexKeys(sql: string, bytesPerChar: number): Map<string, number> {
  const columns = new Map<string, Map<string, number>>();
  const keys = new Map<string, number>();
  const keyOf = (table: string, cols: string): number =>
    cols.split(',').map((c) => /^\s*(\w+)\s*(?:\((\d+)\))?/.exec(c) ?? []).reduce((sum, [, col, prefix]) => {
      if (col === undefined) return sum;
      const bytes = columns.get(table.toUpperCase())?.get(col.toUpperCase()) ?? 0;
      return sum + (prefix ? Math.min(Number(prefix) * bytesPerChar + 2, bytes) : bytes);
    }, 0);
  // Backticks go: the consent script quotes some names, the others do not.
  for (const statement of sql.replace(/`/g, '').replace(/^\s*--.*$/gm, '').split(';')) {
    const create = /CREATE TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(([\s\S]*)\)/i.exec(statement);
    if (create) {
      const cols = new Map<string, number>();
      for (const [, col, type, n] of create[2]!.matchAll(/^\s*(\w+)\s+(VARCHAR|CHAR|INTEGER|INT|BIGINT|SMALLINT|TIMESTAMP)\s*(?:\((\d+)\))?/gim)) {
        const size = { VARCHAR: Number(n) * bytesPerChar + 2, CHAR: Number(n) * bytesPerChar, INTEGER: 4, INT: 4, BIGINT: 8, SMALLINT: 2, TIMESTAMP: 4 }[type!.toUpperCase()]!;
        cols.set(col!.toUpperCase(), size);
      }
      columns.set(create[1]!.toUpperCase(), cols);
      for (const [, cs] of create[2]!.matchAll(/(?:PRIMARY KEY|UNIQUE(?: KEY| INDEX)?(?:\s+\w+)?)\s*\(([^)]*(?:\(\d+\)[^)]*)*)\)/gi)) keys.set(`${create[1]} (${cs})`, keyOf(create[1]!, cs!));
    }
    const index = /CREATE (?:UNIQUE )?INDEX (\w+)\s+ON\s+(\w+)\s*\(([^;]*)\)\s*$/i.exec(statement.trim());
    if (index) keys.set(index[1]!, keyOf(index[2]!, index[3]!));
  }
  return keys;
}

test('why latin1: with utf8mb4 the identity script has an index key over 3072 bytes, with latin1 none', () => {
  for (const s of new Set(Object.values(SCRIPTS('mysql')).flat())) {
    const keys = indexKeys(readFileSync(path.join(FIXTURES, PACK, s), 'utf8'), 1);
    assert.ok(keys.size > 0, s);
    assert.deepEqual([...keys].filter(([, bytes]) => bytes > 3072), [], `${s} with latin1`);
  }
  const utf8mb4 = indexKeys(readFileSync(path.join(FIXTURES, PACK, 'dbscripts/identity/mysql.sql'), 'utf8'), 4);
  assert.equal(utf8mb4.get('IDX_AC_AC_CKID'), 2048 * 4 + 2 + 4, 'AUTHORIZATION_CODE VARCHAR(2048), CONSUMER_KEY_ID INTEGER');
});

const cleanups: (() => void)[] = [];
after(() => cleanups.reverse().forEach((c) => c()));

test('WSO2 on MariaDB: dry-run, apply, re-run is a noop, a changed script is refused, utf8mb4 fails and is refused', async () => {
  requireServer(mysqlMissing());
  const names = { IdentityDB: uniqueName('IdentityDB'), SharedDB: uniqueName('SharedDB'), PrimaryUserStore: uniqueName('PrimaryUserStore') };
  const user = uniqueName('wso2');
  cleanups.push(() => mysqlHere(`${Object.values(names).map((n) => `DROP DATABASE IF EXISTS \`${n}\`;`).join(' ')} DROP USER IF EXISTS '${user}'@'%'`));
  const password = new Secret('wso2-Secret!');
  const dbTasks = Object.values(names).map((name) => database({ engine: 'mysql', name, user, password, charset: 'latin1' }));
  const scriptTasks = (Object.keys(names) as (keyof typeof names)[]).map((db) => sqlScripts({ engine: 'mysql', database: names[db], scripts: fromPack('mysql', db) }));

  const effects = new EffectStore();
  const dry = [];
  for (const t of [...dbTasks, ...scriptTasks]) dry.push(await runLocal(t, { dryRun: true, effects, baseDir: WORK }));
  assert.deepEqual(dry.map((r) => r.status), Array(6).fill('changed'), JSON.stringify(dry.map((r) => r.reason)));
  assert.equal(dry[1]!.reason, `create database ${names.SharedDB} (latin1), grant ALL on ${names.SharedDB} to ${user}@% (user made by "database ${names.IdentityDB} and user ${user}")`);
  assert.match(dry[3]!.reason, new RegExp(`^would run 3 scripts in ${names.IdentityDB}, once each: dbscripts/identity/mysql.sql \\(sha256 dce51bc4b2ac\\), dbscripts/identity/uma/mysql.sql \\(sha256 bcb0923af873\\), dbscripts/consent/mysql.sql \\(sha256 9bfe98b40eda\\) \\(database ${names.IdentityDB} is created by an earlier task, "database ${names.IdentityDB} and user ${user}"\\)$`));
  assert.equal(mysqlHere(`SHOW DATABASES LIKE '${names.IdentityDB}'`), '', 'a dry-run changes nothing');

  const applied = [];
  for (const t of [...dbTasks, ...scriptTasks]) applied.push(await runLocal(t, { baseDir: WORK }));
  assert.deepEqual(applied.map((r) => r.status), Array(6).fill('changed'), JSON.stringify(applied.map((r) => r.error)));
  assert.equal(mysqlHere(`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${names.IdentityDB}'`), '103\n', 'identity, uma and consent tables plus the ledger');
  assert.equal(mysqlHere(`SELECT COUNT(*) FROM \`${names.IdentityDB}\`.IDN_BASE_TABLE`), '1\n');
  assert.equal(mysqlHere(`SHOW COLUMNS FROM \`${names.IdentityDB}\`.IDN_OAUTH2_DEVICE_FLOW LIKE 'STATUS'`).split('\t')[0], 'STATUS');
  for (const [db, scripts] of Object.entries(SCRIPTS('mysql')) as [keyof typeof names, string[]][]) {
    const created = new Set(scripts.flatMap((s) => [...readFileSync(path.join(FIXTURES, PACK, s), 'utf8').replace(/^\s*--.*$/gm, '').matchAll(/CREATE TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)/gi)].map((m) => m[1]!.toUpperCase())));
    assert.equal(mysqlHere(`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${names[db]}'`), `${created.size + 1}\n`, `${db}: every table of its scripts, and the ledger`);
  }

  const again = [];
  for (const t of [...dbTasks, ...scriptTasks]) again.push(await runLocal(t, { baseDir: WORK }));
  assert.deepEqual(again.map((r) => r.status), Array(6).fill('ok'));
  assert.equal(again[3]!.reason, `3 scripts applied in ${names.IdentityDB}: dbscripts/identity/mysql.sql (sha256 dce51bc4b2ac), dbscripts/identity/uma/mysql.sql (sha256 bcb0923af873), dbscripts/consent/mysql.sql (sha256 9bfe98b40eda)`);

  const local = readFileSync(path.join(FIXTURES, PACK, 'dbscripts/consent/mysql.sql'), 'utf8');
  const modified = await runLocal(sqlScripts({ engine: 'mysql', database: names.IdentityDB, scripts: [{ name: 'dbscripts/consent/mysql.sql', content: `${local}-- edited\n` }] }));
  assert.equal(modified.status, 'failed');
  assert.match(modified.reason, /^script dbscripts\/consent\/mysql\.sql changed since it was applied on .* UTC \(sha256 9bfe98b40eda → [0-9a-f]{12}\); scripts are not re-run/);

  const utf = uniqueName('IdentityUtf8');
  cleanups.push(() => mysqlHere(`DROP DATABASE IF EXISTS \`${utf}\``));
  assert.equal((await runLocal(database({ engine: 'mysql', name: utf, charset: 'utf8mb4' }))).status, 'changed');
  const identity = sqlScripts({ engine: 'mysql', database: utf, scripts: fromPack('mysql', 'IdentityDB') });
  const failed = await runLocal(identity, { baseDir: WORK });
  assert.equal(failed.reason, 'command failed with exit code 1: dbscripts/identity/mysql.sql failed: ERROR 1071 (42000) at line 1026: Specified key was too long; max key length is 3072 bytes');
  assert.equal(mysqlHere(`SELECT status FROM \`${utf}\`.is_provision_ledger`), 'failed\n');
  const refused = await runLocal(identity, { baseDir: WORK });
  assert.equal(refused.status, 'failed');
  assert.match(refused.reason, /^script dbscripts\/identity\/mysql\.sql failed at .* UTC: ERROR 1071 \(42000\) at line 1026: Specified key was too long; max key length is 3072 bytes\. MySQL\/MariaDB commits DDL statement by statement, so .* may hold part of the script; it is not re-run blindly\./);
  const latin1 = await runLocal(database({ engine: 'mysql', name: utf, charset: 'latin1' }));
  assert.match(latin1.reason, /^database IdentityUtf8_.* has charset utf8mb4, not latin1, and \d+ tables: ALTER DATABASE would change only the default of new tables/);
});

test('WSO2 on PostgreSQL: apply as the application user, re-run is a noop', async () => {
  requireServer(postgresMissing());
  const names = { IdentityDB: uniqueName('identitydb'), SharedDB: uniqueName('shareddb'), PrimaryUserStore: uniqueName('userstore') };
  const user = uniqueName('wso2');
  cleanups.push(() => {
    for (const n of Object.values(names)) psqlHere(`DROP DATABASE IF EXISTS "${n}"`);
    psqlHere(`DROP ROLE IF EXISTS "${user}"`);
  });
  const tasks = [
    ...Object.values(names).map((name) => database({ engine: 'postgresql', name, user, password: 'wso2-Secret!', charset: 'UTF8' })),
    ...(Object.keys(names) as (keyof typeof names)[]).map((db) => sqlScripts({ engine: 'postgresql', database: names[db], scripts: fromPack('postgresql', db) })),
  ];
  const applied = [];
  for (const t of tasks) applied.push(await runLocal(t, { baseDir: WORK }));
  assert.deepEqual(applied.map((r) => r.status), Array(6).fill('changed'), JSON.stringify(applied.map((r) => r.error)));
  assert.equal(psqlHere(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = '${user}'`, names.IdentityDB), '102\n', 'the user owns the tables');
  const again = [];
  for (const t of tasks) again.push(await runLocal(t, { baseDir: WORK }));
  assert.deepEqual(again.map((r) => r.status), Array(6).fill('ok'));
  assert.equal(again[5]!.reason, `1 script applied in ${names.PrimaryUserStore}: dbscripts/postgresql.sql (sha256 6aec0ea930ec)`);
});
