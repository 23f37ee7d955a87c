import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

/** A scratch project: an inventory of one unreachable host and a playbook; nothing may connect. */
function scratch(playbook: string, hostsToml?: string, templates: Record<string, string> = {}): { dir: string; marker: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-bad-'));
  const marker = path.join(dir, 'ran');
  writeFileSync(
    path.join(dir, 'hosts.toml'),
    hostsToml ?? `[defaults]\ntransport = "local"\n[hosts.web1]\n[groups.app]\nhosts = ["web1"]\n`,
  );
  writeFileSync(path.join(dir, 'play.ts'), playbook.replaceAll('MARKER', marker));
  mkdirSync(path.join(dir, 'templates'));
  for (const [name, text] of Object.entries(templates)) writeFileSync(path.join(dir, 'templates', name), text);
  return { dir, marker };
}

const head = `import { definePlaybook, command, copy, template, file } from 'is-provision';\n`;
const first = (tasks: string, extra = '') =>
  `${head}export default definePlaybook({ name: 'p', plays: [{ name: 'one', hosts: 'app', tasks: [command({ cmd: 'touch MARKER' }), ${tasks}]${extra} }] });\n`;

const cases: { name: string; playbook: string; hosts?: string; templates?: Record<string, string>; args?: string[]; message: RegExp }[] = [
  { name: 'unknown module option', playbook: first(`copy({ dst: '/tmp/x', content: 'x' } as any)`), message: /play\.ts:\d+: copy: unknown option "dst" \(did you mean "dest"\?\)/ },
  { name: 'missing required option', playbook: first(`file({} as any)`), message: /file: option "path" is required/ },
  { name: 'unknown group in hosts', playbook: `${head}export default definePlaybook({ name: 'p', plays: [{ name: 'one', hosts: 'ap', tasks: [] }] });`, message: /play "one".*"ap"/ },
  { name: 'missing template', playbook: first(`template({ src: 'templates/nope.hbs', dest: '/tmp/x' })`), message: /cannot read local file .*nope\.hbs: no such file/ },
  { name: 'missing template variable', playbook: first(`template({ src: 'templates/t.hbs', dest: '/tmp/x' })`), templates: { 't.hbs': 'a\nport = {{port}}\n' }, message: /play\.ts:2: .*t\.hbs:2:10: template variable "port" is not defined/ },
  { name: 'syntax error in the playbook', playbook: `${head}export default definePlaybook({ name: 'p', plays: [ });`, message: /play\.ts:2:\d+: / },
  { name: 'a type error in the playbook', playbook: first(`copy({ dest: '/tmp/x', content: 'x', mode: true })`), message: /play\.ts:2:\d+: Type 'true' is not assignable/ },
  { name: 'a type error, with --no-typecheck caught by the option check', playbook: first(`copy({ dest: '/tmp/x', content: 'x', mode: true })`), args: ['--no-typecheck'], message: /copy: option "mode" must be an octal mode/ },
  { name: 'default export missing', playbook: `export const x = 1;\n`, message: /the default export is not a playbook/ },
  { name: 'notify of an unknown handler', playbook: first(`command({ cmd: 'true', notify: 'reload ap' })`, `, handlers: [command({ name: 'reload app', cmd: 'true' })]`), message: /notifies "reload ap".*did you mean "reload app"/ },
  { name: 'inventory TOML error', playbook: first(`command({ cmd: 'true' })`), hosts: '[hosts.web1\n', message: /hosts\.toml:1:\d+: / },
  { name: 'inventory unknown key', playbook: first(`command({ cmd: 'true' })`), hosts: '[hosts.web1]\nadress = "10.0.0.1"\n[groups.app]\nhosts = ["web1"]\n', message: /hosts\.toml:2:\d+: unknown key "adress".*did you mean "address"/ },
  { name: 'bad --forks', playbook: first(`command({ cmd: 'true' })`), args: ['--forks', '0'], message: /--forks must be a positive integer/ },
  { name: 'unknown flag', playbook: first(`command({ cmd: 'true' })`), args: ['--dry-rum'], message: /Unknown argument/i },
];

for (const c of cases) {
  test(`bad input: ${c.name} → exit 2, one line, nothing ran`, async () => {
    const { dir, marker } = scratch(c.playbook, c.hosts, c.templates);
    const result = await runCli(['run', path.join(dir, 'play.ts'), '-i', dir, ...(c.args ?? [])]);
    assert.equal(result.code, 2, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.match(result.stderr, c.message);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line, no stack:\n${result.stderr}`);
    assert.equal(existsSync(marker), false, 'no task ran');
  });
}

test('a missing secret env var is an error before anything runs', async () => {
  const { dir, marker } = scratch(first(`command({ cmd: 'true' })`), `[defaults]\ntransport = "local"\n[vars]\npw = { env = "ISP_TEST_UNSET_VAR" }\n[hosts.web1]\n[groups.app]\nhosts = ["web1"]\n`);
  const result = await runCli(['run', path.join(dir, 'play.ts'), '-i', dir], { env: { ISP_TEST_UNSET_VAR: undefined } });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /ISP_TEST_UNSET_VAR/);
  assert.equal(existsSync(marker), false);
});

test('--help shows examples', async () => {
  const result = await runCli(['run', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /--dry-run/);
  const top = await runCli(['--help']);
  assert.match(top.stdout, /Examples:/);
});
