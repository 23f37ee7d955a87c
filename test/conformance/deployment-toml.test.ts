/**
 * The toml module against WSO2 IS 5.10.0's real repository/conf/deployment.toml (read from the
 * shared fixtures beside the repository, never copied into it): the cluster's edits change exactly
 * their lines, every comment survives, the result reads back as the values set, and a second run
 * has nothing to do.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as iarnaParse } from '@iarna/toml';
import { parseDocument } from '@decimalturn/toml-patch';
import { decideToml, planToml, tomlModule, type TomlOptions } from '../../src/modules/toml.js';
import { Secret } from '../../src/shell/secret.js';
import { applyHere, changedLines, decideHere, fileWith } from '../modules/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = path.join(ROOT, '..', 'shared', 'fixtures', 'wso2is-5.10.0', 'repository', 'conf', 'deployment.toml');
const DEST = '/opt/wso2is-5.10.0/repository/conf/deployment.toml';
const PASSWORD = new Secret('Db-pa55"word');

const datasource = (db: string) => ({
  type: 'mysql',
  url: `jdbc:mysql://db1:3306/${db}?useSSL=false`,
  username: 'wso2',
  password: PASSWORD,
  driver: 'com.mysql.jdbc.Driver',
});

const SET: TomlOptions['set'] = {
  'server.hostname': 'is.wso2.com',
  'server.offset': 1,
  'transport.https.properties.proxyPort': 443,
  'database.identity_db': datasource('IdentityDB'),
  'database.shared_db': datasource('SharedDB'),
  'database.user': datasource('PrimaryUserStore'),
};

const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function original(): string {
  assert.ok(existsSync(FIXTURE), `the WSO2 IS fixture is missing: ${FIXTURE}`);
  return readFileSync(FIXTURE, 'utf8');
}

/** The old line numbers of a unified diff's "-" lines. */
function removedLines(diff: string): Set<number> {
  const removed = new Set<number>();
  let line = 0;
  for (const l of diff.split('\n')) {
    const hunk = /^@@ -(\d+)/.exec(l);
    if (hunk) line = Number(hunk[1]);
    else if (l.startsWith('--- ') || l.startsWith('+++ ')) continue;
    else if (l.startsWith('-')) removed.add(line++);
    else if (l.startsWith(' ')) line++;
  }
  return removed;
}

const commentsOf = (text: string): string[] =>
  (parseDocument(text).cst as unknown as { type: string; raw?: string; items?: { type: string; raw?: string }[] }[])
    .flatMap((block) => [block, ...(block.items ?? [])])
    .filter((node) => node.type === 'Comment')
    .map((node) => node.raw!);

test('deployment.toml: the cluster edits change only their lines and keep every comment', () => {
  const before = original();
  const plan = planToml({ path: DEST, set: SET });
  const decision = decideToml(plan, fileWith(DEST, before, { owner: 'wso2', group: 'wso2' }));
  assert.equal(decision.kind, 'change');
  assert.equal(
    decision.reason,
    `${DEST}: would set server.hostname, server.offset, transport.https.properties.proxyPort, database.identity_db, database.shared_db, database.user`,
  );
  assert.deepEqual(changedLines(decision.diff), [
    '-hostname = "localhost"',
    '+hostname = "is.wso2.com"',
    '+offset = 1',
    '-type = "h2"',
    '-url = "jdbc:h2:./repository/database/WSO2IDENTITY_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000"',
    '-username = "wso2carbon"',
    '-password = "***"',
    '+type = "mysql"',
    '+url = "jdbc:mysql://db1:3306/IdentityDB?useSSL=false"',
    '+username = "wso2"',
    '+password = "***"',
    '+driver = "com.mysql.jdbc.Driver"',
    '-type = "h2"',
    '-url = "jdbc:h2:./repository/database/WSO2SHARED_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000"',
    '-username = "wso2carbon"',
    '-password = "***"',
    '+type = "mysql"',
    '+url = "jdbc:mysql://db1:3306/SharedDB?useSSL=false"',
    '+username = "wso2"',
    '+password = "***"',
    '+driver = "com.mysql.jdbc.Driver"',
    '+[database.user]',
    '+type = "mysql"',
    '+url = "jdbc:mysql://db1:3306/PrimaryUserStore?useSSL=false"',
    '+username = "wso2"',
    '+password = "***"',
    '+driver = "com.mysql.jdbc.Driver"',
    '+',
    '+',
    '+[transport.https.properties]',
    '+proxyPort = 443',
  ]);
  assert.ok(!decision.diff!.includes(PASSWORD.reveal()), 'the diff shows the password');

  assert.ok(decision.kind === 'change');
  const step = decision.steps[0]!;
  assert.ok(step.kind === 'exec');
  const after = step.stdin!.toString();
  // server.offset lands inside [server], right after its last key.
  assert.ok(after.startsWith('[server]\nhostname = "is.wso2.com"\nnode_ip = "127.0.0.1"\nbase_path = "https://$ref{server.hostname}:${carbon.management.port}"\noffset = 1\n\n[super_admin]\n'));
  // [database.user] follows the other databases; the new transport table ends the file.
  assert.ok(after.includes('driver = "com.mysql.jdbc.Driver"\n\n[database.user]\n'));
  assert.ok(after.endsWith('password = "wso2carbon"\n\n[transport.https.properties]\nproxyPort = 443\n'));
  for (const comment of commentsOf(before)) assert.ok(after.includes(comment), `comment lost: ${comment}`);
  assert.ok(commentsOf(before).length > 0);

  // Every line of the original that no edit names is still there, in the same order.
  const removed = removedLines(decision.diff!);
  const untouched = before.split('\n').filter((_, i) => !removed.has(i + 1));
  assert.equal(removed.size, 9);
  let at = 0;
  const lines = after.split('\n');
  for (const l of untouched) {
    at = lines.indexOf(l, at);
    assert.ok(at >= 0, `line lost or moved: ${JSON.stringify(l)}`);
    at++;
  }

  const expected = plain(iarnaParse(before)) as Record<string, any>;
  expected.server.hostname = 'is.wso2.com';
  expected.server.offset = 1;
  expected.transport = { https: { properties: { proxyPort: 443 } } };
  const revealed = (db: string) => ({ ...datasource(db), password: PASSWORD.reveal() });
  expected.database = { identity_db: revealed('IdentityDB'), shared_db: revealed('SharedDB'), user: revealed('PrimaryUserStore') };
  const parsed = iarnaParse(after) as Record<string, any>;
  assert.deepEqual(plain(parsed), expected);
  assert.equal(typeof parsed.server.offset, 'number');
  assert.equal(typeof parsed.transport.https.properties.proxyPort, 'number');
  assert.equal(parsed.super_admin.create_admin_account, true);

  const again = decideToml(plan, fileWith(DEST, after));
  assert.equal(again.kind, 'noop');
  assert.equal(
    again.reason,
    `${DEST}: server.hostname, server.offset, transport.https.properties.proxyPort, database.identity_db, database.shared_db, database.user already set`,
  );
});

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('deployment.toml: applied for real to a temp copy, then nothing to do', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'is-provision-conformance-'));
  made.push(dir);
  const file = path.join(dir, 'deployment.toml');
  writeFileSync(file, original());
  const plan = planToml({ path: file, set: SET });
  const decision = decideHere(tomlModule, plan);
  assert.equal(decision.kind, 'change');
  applyHere(decision);
  const written = readFileSync(file, 'utf8');
  assert.equal((iarnaParse(written) as Record<string, any>).database.user.password, PASSWORD.reveal());
  assert.equal(decideHere(tomlModule, plan).kind, 'noop');
});
