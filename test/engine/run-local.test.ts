import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { recapOf, runCli, tasksWith } from '../helpers/cli.js';

/**
 * The engine end to end through the CLI, on hosts that use the local transport: each "host" works
 * in its own directory of this machine, so scenarios run in seconds without the lab.
 */
function project(playbook: string, hosts = ['a', 'b'], extraToml = ''): { dir: string; root: (h: string) => string; run: (...args: string[]) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-engine-'));
  const root = (h: string) => path.join(dir, 'hosts', h);
  for (const h of hosts) mkdirSync(root(h), { recursive: true });
  const hostTables = hosts.map((h) => `[hosts.${h}]\nvars = { root = ${JSON.stringify(root(h))} }\n`).join('');
  writeFileSync(path.join(dir, 'hosts.toml'), `[defaults]\ntransport = "local"\n${extraToml}\n${hostTables}[groups.app]\nhosts = ${JSON.stringify(hosts)}\n`);
  mkdirSync(path.join(dir, 'templates'));
  writeFileSync(path.join(dir, 'templates', 'conf.hbs'), 'name = {{inventory_hostname}}\nport = {{port}}\n{{#each peers}}peer = {{this}}\n{{/each}}');
  writeFileSync(path.join(dir, 'play.ts'), playbook);
  return { dir, root, run: (...args: string[]) => runCli(['run', path.join(dir, 'play.ts'), '-i', dir, '--json', ...args]) };
}

const EXAMPLE = `import { definePlaybook, command, file, copy, template, line, hostsEntry } from 'is-provision';
export default definePlaybook({
  name: 'local example',
  vars: { greeting: 'hello' },
  plays: [{
    name: 'app', hosts: 'app', vars: { port: 8080 },
    tasks: ({ host, vars, inventory }) => [
      file({ name: 'app dir', path: vars.root + '/opt/app', state: 'directory', mode: '0755' }),
      copy({ name: 'motd', dest: vars.root + '/opt/app/motd', content: vars.greeting + ' from ' + host.name + '\\n', mode: '0640', notify: 'reload' }),
      template({ name: 'conf', src: 'templates/conf.hbs', dest: vars.root + '/opt/app/app.conf', vars: { peers: inventory.hosts('app').map((h) => h.name) }, notify: 'reload' }),
      line({ name: 'env', path: vars.root + '/opt/app/env', line: 'MODE=prod', regexp: '^MODE=', create: true }),
      command({ name: 'hosts file', cmd: ['sh', '-c', 'echo "127.0.0.1 localhost" > "$0"', vars.root + '/hosts'], creates: vars.root + '/hosts' }),
      hostsEntry({ name: 'hosts entry', ip: '127.0.0.1', names: ['app.local'], path: vars.root + '/hosts' }),
      command({ name: 'init', cmd: ['touch', vars.root + '/opt/app/.init'], creates: vars.root + '/opt/app/.init' }),
    ],
    handlers: [command({ name: 'reload', cmd: 'echo reloaded >> "$ROOT/opt/app/reloads"', env: { ROOT: '' } })],
  }],
});
`.replace(`env: { ROOT: '' }`, `env: { ROOT: 'ROOTDIR' }`);

test('apply, then re-run: changed, then changed=0; handlers once per host', async () => {
  const p = project(
    EXAMPLE.replace(`handlers: [command({ name: 'reload', cmd: 'echo reloaded >> "$ROOT/opt/app/reloads"', env: { ROOT: 'ROOTDIR' } })]`, `handlers: ({ vars }) => [command({ name: 'reload', cmd: 'echo reloaded >> "$ROOT/opt/app/reloads"', env: { ROOT: vars.root } })]`),
  );
  const first = await p.run();
  assert.equal(first.code, 0, first.stderr + first.stdout);
  const recap1 = recapOf(first);
  assert.equal(recap1.a!.changed, 8);
  assert.equal(recap1.a!.failed, 0);
  assert.equal(readFileSync(path.join(p.root('a'), 'opt/app/motd'), 'utf8'), 'hello from a\n');
  assert.equal(readFileSync(path.join(p.root('b'), 'opt/app/app.conf'), 'utf8'), 'name = b\nport = 8080\npeer = a\npeer = b\n');
  assert.equal(readFileSync(path.join(p.root('a'), 'hosts'), 'utf8'), '127.0.0.1 localhost app.local\n');
  assert.equal(readFileSync(path.join(p.root('a'), 'opt/app/reloads'), 'utf8'), 'reloaded\n');

  const second = await p.run();
  assert.equal(second.code, 0);
  for (const h of ['a', 'b']) assert.deepEqual({ ...recapOf(second)[h], ok: 0 }, { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false });
  assert.equal(recapOf(second).a!.ok, 7);
  assert.equal(readFileSync(path.join(p.root('a'), 'opt/app/reloads'), 'utf8'), 'reloaded\n', 'no handler on a run with nothing to do');
  const reasons = second.events.filter((e) => e.type === 'task').map((e) => e.reason as string);
  assert.ok(reasons.includes(`line "127.0.0.1 localhost app.local" present in ${path.join(p.root('a'), 'hosts')}`), reasons.join('\n'));
  assert.ok(reasons.every((r) => r.length > 0), 'every decision states its reason');
});

test('dry-run on fresh hosts: touches nothing, shows diffs, and marks exactly what the apply changes', async () => {
  const p = project(EXAMPLE.replace(`env: { ROOT: 'ROOTDIR' }`, `env: { ROOT: '/nonexistent' }`));
  const dry = await p.run('--dry-run');
  assert.equal(dry.code, 0, dry.stderr + dry.stdout);
  assert.deepEqual(readdirSync(p.root('a')), [], 'nothing written');
  const recap = dry.events.find((e) => e.type === 'recap')!;
  assert.equal(recap.dryRun, true);
  const motd = dry.events.find((e) => e.type === 'task' && e.task === 'motd' && e.host === 'a')!;
  assert.match(motd.diff, /\+hello from a/);
  const env = dry.events.find((e) => e.type === 'task' && e.task === 'env' && e.host === 'a')!;
  assert.equal(env.status, 'changed', 'a file in a directory that an earlier task makes: would change, not fail');
  const wouldChange = tasksWith(dry, 'changed').filter((t) => !t.endsWith('/reload'));

  const real = await p.run();
  const changed = tasksWith(real, 'changed').filter((t) => !t.endsWith('/reload'));
  assert.deepEqual(changed.sort(), wouldChange.sort());
  assert.ok(tasksWith(dry, 'changed').includes('a/reload'), 'the handler shows as would-run');
});

test('a task failing on one host stops that host only; the others finish; exit 1', async () => {
  const p = project(`import { definePlaybook, command, copy } from 'is-provision';
export default definePlaybook({ name: 'f', plays: [{ name: 'p', hosts: 'app', tasks: ({ host, vars }) => [
  command({ name: 'maybe fail', cmd: host.name === 'a' ? 'echo boom >&2; exit 3' : 'true' }),
  copy({ name: 'after', dest: vars.root + '/after', content: 'x' }),
] }] });`);
  const result = await p.run();
  assert.equal(result.code, 1);
  const failed = result.events.find((e) => e.type === 'task' && e.status === 'failed')!;
  assert.equal(failed.host, 'a');
  assert.equal(failed.error.code, 3);
  assert.match(failed.error.stderrTail, /boom/);
  assert.match(failed.reason, /exit code 3: boom/);
  assert.equal(existsSync(path.join(p.root('a'), 'after')), false);
  assert.equal(readFileSync(path.join(p.root('b'), 'after'), 'utf8'), 'x');
  assert.equal(recapOf(result).a!.failed, 1);
  assert.equal(recapOf(result).b!.failed, 0);
});

test('ignoreErrors, when, tags, --limit and -e', async () => {
  const p = project(`import { definePlaybook, command, copy } from 'is-provision';
export default definePlaybook({ name: 't', vars: { word: 'low' }, plays: [{ name: 'p', hosts: 'app', tasks: ({ vars }) => [
  command({ name: 'bad', cmd: 'exit 1', ignoreErrors: true }),
  copy({ name: 'skipped', dest: vars.root + '/skipped', content: 'x', when: false }),
  copy({ name: 'word', dest: vars.root + '/word', content: String(vars.word), tags: ['w'] }),
  copy({ name: 'untagged', dest: vars.root + '/untagged', content: 'x' }),
] }] });`);
  const result = await p.run('--limit', 'app,!b', '-e', 'word=high', '--tags', 'w');
  assert.equal(result.code, 0, result.stdout);
  assert.deepEqual(Object.keys(recapOf(result)), ['a']);
  assert.equal(readFileSync(path.join(p.root('a'), 'word'), 'utf8'), 'high');
  assert.equal(existsSync(path.join(p.root('a'), 'untagged')), false);
  const all = await p.run('--limit', 'a');
  const recap = recapOf(all).a!;
  assert.equal(recap.skipped, 1);
  assert.equal((recap as any).ignored, 1);
  assert.equal(all.code, 0);
});

test('serial runs hosts in batches, in order', async () => {
  const log = path.join(mkdtempSync(path.join(tmpdir(), 'isp-serial-')), 'log');
  const p = project(`import { definePlaybook, command } from 'is-provision';
export default definePlaybook({ name: 's', plays: [{ name: 'p', hosts: 'app', serial: 1, tasks: ({ host }) => [
  command({ name: 'start', cmd: ['sh', '-c', 'echo start-' + host.name + ' >> ${log}; sleep 0.3; echo end-' + host.name + ' >> ${log}'] }),
] }] });`, ['a', 'b', 'c']);
  const result = await p.run();
  assert.equal(result.code, 0);
  assert.equal(readFileSync(log, 'utf8'), 'start-a\nend-a\nstart-b\nend-b\nstart-c\nend-c\n');
});

test('secrets are masked in output, diffs and errors, and never on a command line', async () => {
  process.env.ISP_TEST_SECRET = 's3cr3t-value';
  const p = project(`import { definePlaybook, command, copy } from 'is-provision';
export default definePlaybook({ name: 's', plays: [{ name: 'p', hosts: 'app', tasks: ({ vars }) => [
  copy({ name: 'secret file', dest: vars.root + '/pw', content: vars.pw, mode: '0600' }),
  command({ name: 'echo it', cmd: 'echo "$PW"; echo "$PW" >&2; exit 4', env: { PW: vars.pw } }),
] }] });`, ['a'], `[vars]\npw = { env = "ISP_TEST_SECRET" }\n`);
  const result = await p.run('-v', '--diff');
  assert.equal(result.code, 1);
  assert.doesNotMatch(result.stdout + result.stderr, /s3cr3t-value/);
  assert.match(result.stdout, /\*\*\*/);
  const failed = result.events.find((e) => e.status === 'failed')!;
  assert.match(failed.error.stderrTail, /\*\*\*/);
  assert.equal(readFileSync(path.join(p.root('a'), 'pw'), 'utf8'), 's3cr3t-value', 'the file gets the real value');
});

test('flushHandlers runs notified handlers where it stands; handlers notified later run again at the end', async () => {
  const p = project(`import { definePlaybook, command, copy, flushHandlers } from 'is-provision';
export default definePlaybook({ name: 'f', plays: [{ name: 'p', hosts: 'app', tasks: ({ vars }) => [
  copy({ name: 'conf', dest: vars.root + '/conf', content: 'x', notify: 'log' }),
  flushHandlers(),
  command({ name: 'after flush', cmd: ['sh', '-c', 'echo task >> "$0"', vars.root + '/log'], creates: vars.root + '/after' }),
  copy({ name: 'conf2', dest: vars.root + '/conf2', content: 'y', notify: 'log' }),
], handlers: ({ vars }) => [command({ name: 'log', cmd: ['sh', '-c', 'echo handler >> "$0"', vars.root + '/log'] })] }] });`, ['a']);
  const result = await p.run();
  assert.equal(result.code, 0, result.stdout);
  assert.equal(readFileSync(path.join(p.root('a'), 'log'), 'utf8'), 'handler\ntask\nhandler\n');
  const again = await p.run();
  assert.equal(recapOf(again).a!.changed, 1, 'only the command without a creates-file changes');
});

test('dry-run: a mode change followed by a line edit of the same file plans both, as the apply does', async () => {
  const p = project(`import { definePlaybook, file, line } from 'is-provision';
export default definePlaybook({ name: 'm', plays: [{ name: 'p', hosts: 'app', tasks: ({ vars }) => [
  file({ name: 'mode', path: vars.root + '/conf', mode: '0600' }),
  line({ name: 'line', path: vars.root + '/conf', line: 'b=2' }),
] }] });`, ['a']);
  writeFileSync(path.join(p.root('a'), 'conf'), 'a=1\n', { mode: 0o644 });
  const dry = await p.run('--dry-run');
  assert.equal(dry.code, 0, dry.stdout);
  assert.deepEqual(tasksWith(dry, 'changed').sort(), ['a/line', 'a/mode']);
  const apply = await p.run();
  assert.deepEqual(tasksWith(apply, 'changed').sort(), ['a/line', 'a/mode']);
  assert.equal(statSync(path.join(p.root('a'), 'conf')).mode & 0o777, 0o600, 'the line edit keeps the new mode');
  assert.equal(readFileSync(path.join(p.root('a'), 'conf'), 'utf8'), 'a=1\nb=2\n');
});
