import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, template, templateModule } from '../../src/modules/template.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { Secret } from '../../src/shell/secret.js';
import type { PrepareContext } from '../../src/modules/define.js';
import { absent, atomicScript, context, fileWith, short, summary } from './helpers.js';

const RENDER: { name: string; text: string; vars: Record<string, unknown>; expected: string }[] = [
  { name: 'plain text', text: 'no variables\n', vars: {}, expected: 'no variables\n' },
  { name: 'nested vars', text: 'db={{app.db.host}}:{{app.db.port}}', vars: { app: { db: { host: 'db1', port: 5432 } } }, expected: 'db=db1:5432' },
  { name: 'adjacent numbers are joined as text, not added', text: '{{a}}{{b}}', vars: { a: 1, b: 2 }, expected: '12' },
  { name: 'adjacent numbers after text', text: 'x{{a}}{{b}}y', vars: { a: 1, b: 2 }, expected: 'x12y' },
  { name: 'adjacent booleans', text: '{{t}}{{t}}', vars: { t: true }, expected: 'truetrue' },
  { name: 'adjacent numbers inside a block', text: '{{#each xs}}{{this}}{{this}};{{/each}}', vars: { xs: [1, 2] }, expected: '11;22;' },
  { name: 'adjacent numbers inside #with', text: '{{#with o}}{{x}}{{y}}{{/with}}', vars: { o: { x: 3, y: 4 } }, expected: '34' },
  { name: 'zero renders as 0', text: '[{{n}}]', vars: { n: 0 }, expected: '[0]' },
  { name: 'no HTML escaping', text: '{{s}}', vars: { s: `<&>"'\`=` }, expected: `<&>"'\`=` },
  { name: 'triple braces too', text: '{{{s}}}', vars: { s: '<b>' }, expected: '<b>' },
  { name: '#if on a number zero is false', text: '{{#if n}}yes{{else}}no{{/if}}', vars: { n: 0 }, expected: 'no' },
  { name: 'eq compares numbers as numbers', text: '{{#if (eq port 8080)}}default{{else}}custom{{/if}}', vars: { port: 8080 }, expected: 'default' },
  { name: 'eq on strings', text: '{{#if (eq env "prod")}}P{{/if}}', vars: { env: 'prod' }, expected: 'P' },
  { name: 'not', text: '{{#if (not debug)}}quiet{{/if}}', vars: { debug: false }, expected: 'quiet' },
  { name: 'json keeps numbers numbers', text: '{"port": {{json port}}, "tags": {{json tags}} }', vars: { port: 80, tags: ['a', 'b'] }, expected: '{"port": 80, "tags": ["a","b"] }' },
  { name: 'secrets are revealed in the rendered file', text: 'password={{db.password}}', vars: { db: { password: new Secret('hunter2') } }, expected: 'password=hunter2' },
  { name: 'dates are ISO text', text: '{{when}}', vars: { when: new Date('2024-05-06T07:08:09Z') }, expected: '2024-05-06T07:08:09.000Z' },
  { name: 'each over objects', text: '{{#each hosts}}{{@key}}={{this}}\n{{/each}}', vars: { hosts: { a: '10.0.0.1', b: '10.0.0.2' } }, expected: 'a=10.0.0.1\nb=10.0.0.2\n' },
];

for (const c of RENDER) {
  test(`renderTemplate: ${c.name}`, () => {
    assert.equal(renderTemplate(c.text, '/pb/templates/t.hbs', c.vars), c.expected);
  });
}

const ERRORS: { name: string; text: string; vars: Record<string, unknown>; origin?: string; message: string }[] = [
  { name: 'missing variable', text: 'port={{port}}\n', vars: {}, message: '/pb/t.hbs:1:8: template variable "port" is not defined' },
  { name: 'missing variable on a later line', text: 'a\nb\n  x={{nope}}\n', vars: {}, message: '/pb/t.hbs:3:7: template variable "nope" is not defined' },
  { name: 'missing nested variable', text: '{{app.port}}', vars: { app: {} }, message: '/pb/t.hbs:1:3: template variable "port" is not defined' },
  {
    name: 'missing variable with the task origin',
    text: '{{x}}',
    vars: {},
    origin: 'playbooks/site.ts:12',
    message: 'playbooks/site.ts:12: /pb/t.hbs:1:3: template variable "x" is not defined',
  },
  { name: 'missing variable inside #each', text: '{{#each items}}\n{{name}}{{/each}}', vars: { items: [{}] }, message: '/pb/t.hbs:2:3: template variable "name" is not defined' },
];

for (const c of ERRORS) {
  test(`renderTemplate fails: ${c.name}`, () => {
    assert.throws(() => renderTemplate(c.text, '/pb/t.hbs', c.vars, c.origin), (error: unknown) => {
      assert.ok(error instanceof PlaybookError);
      assert.equal(error.message, c.message);
      assert.equal(error.origin, c.origin);
      return true;
    });
  });
}

test('renderTemplate fails: syntax error names file and line', () => {
  assert.throws(() => renderTemplate('ok\n{{#if x}}\nunclosed', '/pb/t.hbs', { x: 1 }), (error: unknown) => {
    assert.ok(error instanceof PlaybookError);
    assert.match(error.message, /^\/pb\/t\.hbs:3: template syntax error: /);
    return true;
  });
});

test('renderTemplate: one call does not register helpers globally for the next', () => {
  renderTemplate('{{json 1}}', 't', {});
  assert.equal(renderTemplate('{{a}}{{b}}', 't', { a: 5, b: 6 }), '56');
});

function prepareContext(files: Record<string, string>, vars: Record<string, unknown> = {}): PrepareContext {
  return {
    host: context().host,
    vars,
    resolveLocal: (p) => `/pb/${p}`,
    readLocal: async (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`no ${p}`);
      return Buffer.from(text);
    },
    origin: 'site.ts:7',
  };
}

test('template prepare: host vars under task vars, then decided as a copy', async () => {
  const plan = await templateModule.prepare!(
    { src: 'templates/app.conf.hbs', dest: '/etc/app.conf', vars: { port: 9090 }, mode: 0o640 },
    prepareContext({ 'templates/app.conf.hbs': 'host={{host}}\nport={{port}}\n' }, { host: 'web1', port: 80 }),
  );
  assert.deepEqual(plan, { dest: '/etc/app.conf', content: Buffer.from('host=web1\nport=9090\n'), mode: '0640' });
  const decision = templateModule.decide(plan, { dest: absent('/etc/app.conf') }, context());
  assert.deepEqual(summary(decision), {
    kind: 'change',
    reason: '/etc/app.conf would be created (20 bytes)',
    diff: '--- /dev/null\n+++ /etc/app.conf\n@@ -0,0 +1,2 @@\n+host=web1\n+port=9090\n',
    steps: [{ command: atomicScript('/etc/app.conf', '0640'), stdin: 'host=web1\nport=9090\n', label: 'write /etc/app.conf' }],
  });
  const same = templateModule.decide(plan, { dest: fileWith('/etc/app.conf', 'host=web1\nport=9090\n', { mode: '0640' }) }, context());
  assert.deepEqual(same, { kind: 'noop', reason: `/etc/app.conf matches (sha256 ${short('host=web1\nport=9090\n')}, mode 0640)` });
});

test('template prepare: a missing variable names the resolved template and the task', async () => {
  await assert.rejects(
    async () => templateModule.prepare!({ src: 't.hbs', dest: '/etc/x' }, prepareContext({ 't.hbs': '\n{{missing}}' })),
    { name: 'PlaybookError', message: 'site.ts:7: /pb/t.hbs:2:3: template variable "missing" is not defined' },
  );
});

test('template(): validation', () => {
  assert.throws(() => template({ src: 't.hbs', dest: 'relative' }), { name: 'PlaybookError', message: /template: dest must be an absolute path, not "relative"$/ });
  assert.throws(() => template({ src: 't.hbs', dest: '/x', content: 'no' } as never), {
    name: 'PlaybookError',
    message: /template: unknown option "content"/,
  });
  assert.throws(() => template({ dest: '/x' } as never), { name: 'PlaybookError', message: /template: option "src" is required$/ });
  assert.equal(template({ src: 't.hbs', dest: '/x' }).module, 'template');
});
