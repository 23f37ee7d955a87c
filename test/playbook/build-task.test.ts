import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTask, isTask } from '../../src/playbook/define.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { normalizeMode, validateOptions, type OptionsSchema } from '../../src/playbook/options.js';
import { callerOrigin } from '../../src/playbook/origin.js';
import { copy } from '../../src/modules/copy.js';
import { file } from '../../src/modules/file.js';
import { command } from '../../src/modules/command.js';
import { line } from '../../src/modules/line.js';
import { template } from '../../src/modules/template.js';
import { hostsEntry } from '../../src/modules/hosts-entry.js';
import { Secret } from '../../src/shell/secret.js';

const HERE = 'test/playbook/build-task.test.ts';

/** The line of the caller, read from an Error made on that line. */
function lineOf(error: Error): number {
  const frame = error.stack!.split('\n').find((l) => l.includes('build-task.test.ts'))!;
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

interface BuildCase {
  name: string;
  build: () => unknown;
  /** The message after the origin. */
  message: string;
}

const BUILD_ERRORS: BuildCase[] = [
  { name: 'unknown option with did-you-mean', build: () => copy({ dst: '/etc/motd', content: 'x' } as never), message: 'copy: unknown option "dst" (did you mean "dest"?)' },
  { name: 'unknown option, case differs', build: () => copy({ dest: '/x', content: 'x', Mode: '0644' } as never), message: 'copy: unknown option "Mode" (did you mean "mode"?)' },
  { name: 'unknown common option misspelt', build: () => copy({ dest: '/x', content: 'x', notfy: 'h' } as never), message: 'copy: unknown option "notfy" (did you mean "notify"?)' },
  { name: 'unknown option with nothing close', build: () => copy({ dest: '/x', content: 'x', zzzzzzzz: 1 } as never), message: 'copy: unknown option "zzzzzzzz"' },
  { name: 'missing required option', build: () => copy({ content: 'x' } as never), message: 'copy: option "dest" is required' },
  { name: 'string option given a number', build: () => copy({ dest: 42, content: 'x' } as never), message: 'copy: option "dest" must be a string' },
  { name: 'boolean option given a string', build: () => copy({ dest: '/x', content: 'x', backup: 'yes' } as never), message: 'copy: option "backup" must be true or false' },
  { name: 'mode with a non-octal digit', build: () => copy({ dest: '/x', content: 'x', mode: '0689' } as never), message: 'copy: option "mode" must be an octal mode such as "0644"' },
  { name: 'mode as words', build: () => copy({ dest: '/x', content: 'x', mode: 'u+rw' } as never), message: 'copy: option "mode" must be an octal mode such as "0644"' },
  { name: 'mode negative', build: () => file({ path: '/x', mode: -1 } as never), message: 'file: option "mode" must be an octal mode such as "0644"' },
  { name: 'strings given a string', build: () => copy({ dest: '/x', content: 'x', tags: 'web' } as never), message: 'copy: option "tags" must be an array of strings' },
  { name: 'strings with a number inside', build: () => copy({ dest: '/x', content: 'x', tags: ['web', 1] } as never), message: 'copy: option "tags" must be an array of strings' },
  { name: 'record given an array', build: () => command({ cmd: 'x', env: [] } as never), message: 'command: option "env" must be an object' },
  { name: 'record given null', build: () => command({ cmd: 'x', env: null } as never), message: 'command: option "env" must be an object' },
  { name: 'when given a string', build: () => command({ cmd: 'x', when: 'false' } as never), message: 'command: option "when" must be true or false' },
  { name: 'a value outside the allowed ones', build: () => file({ path: '/x', state: 'present' } as never), message: 'file: option "state" must be one of "directory", "file", "touch", "absent", not "present"' },
  { name: 'line: unknown option', build: () => line({ path: '/x', line: 'a', insertafter: 'EOF' } as never), message: 'line: unknown option "insertafter" (did you mean "insertAfter"?)' },
  { name: 'template: content is not an option', build: () => template({ src: 't', dest: '/x', content: 'c' } as never), message: 'template: unknown option "content"' },
  { name: 'hostsEntry: name for names', build: () => hostsEntry({ ip: '1.2.3.4', nmes: ['a'] } as never), message: 'hostsEntry: unknown option "nmes" (did you mean "names"?)' },
  { name: 'a module check after the schema', build: () => copy({ dest: 'relative', content: 'x' }), message: 'copy: dest must be an absolute path, not "relative"' },
];

for (const c of BUILD_ERRORS) {
  test(`buildTask rejects: ${c.name}`, () => {
    let line = 0;
    assert.throws(
      () => {
        line = lineOf(new Error());
        c.build();
      },
      (error: unknown) => {
        assert.ok(error instanceof PlaybookError, String(error));
        assert.ok(error.origin?.startsWith(`${HERE}:`), error.origin);
        assert.equal(error.message, `${error.origin}: ${c.message}`);
        return true;
      },
    );
    assert.ok(line > 0);
  });
}

test('buildTask: the origin is the line of the playbook that built the task', () => {
  const [task, here] = [copy({ dest: '/etc/motd', content: 'x' }), new Error()];
  assert.equal(task.origin, `${HERE}:${lineOf(here)}`);
  const [other, there] = [
    file({ path: '/opt', state: 'directory' }),
    new Error(),
  ];
  // Each task points at its own call, not the first line of the statement.
  assert.equal(other.origin, `${HERE}:${lineOf(there) - 1}`);
});

test('buildTask: an error about an option points at the line of the task', () => {
  let expected = '';
  try {
    expected = `${HERE}:${lineOf(new Error()) + 1}`;
    copy({ dst: '/etc/motd', content: 'x' } as never);
    assert.fail('no error');
  } catch (error) {
    assert.ok(error instanceof PlaybookError);
    assert.equal(error.origin, expected);
    assert.equal(error.message, `${expected}: copy: unknown option "dst" (did you mean "dest"?)`);
  }
});

test('buildTask: tasks built inside a helper function point at the helper line', () => {
  const helper = (dest: string) => copy({ dest, content: 'x' });
  const [task, here] = [helper('/a'), new Error()];
  assert.equal(task.origin, `${HERE}:${lineOf(here) - 1}`);
});

test('buildTask: splits common options from the module options and freezes the task', () => {
  const task = command({ cmd: ['ls'], creates: '/x', name: 'list', notify: ['a', 'b'], when: true, tags: ['t'], ignoreErrors: false, become: true });
  assert.equal(task.kind, 'task');
  assert.equal(task.module, 'command');
  assert.deepEqual(task.options, { cmd: ['ls'], creates: '/x' });
  assert.deepEqual(task.common, { name: 'list', notify: ['a', 'b'], when: true, tags: ['t'], ignoreErrors: false, become: true });
  assert.ok(Object.isFrozen(task) && Object.isFrozen(task.options) && Object.isFrozen(task.common));
  assert.ok(isTask(task));
  assert.ok(!isTask({ kind: 'play' }));
  assert.ok(!isTask(null));
});

test('buildTask: undefined optional values are allowed', () => {
  const task = copy({ dest: '/x', content: 'x', mode: undefined, name: undefined });
  assert.equal(task.module, 'copy');
});

test('buildTask: a custom schema and check', () => {
  const schema: OptionsSchema = { url: { type: 'string', required: true }, retries: { type: 'number' }, token: { type: 'secret-or-string' } };
  const check = (o: { url: string; retries?: number; token?: unknown }) => (o.url.startsWith('https://') ? undefined : 'url must be https');
  assert.equal(buildTask('fetch', schema, { url: 'https://x', retries: 3, token: new Secret('t') }, check).module, 'fetch');
  assert.throws(() => buildTask('fetch', schema, { url: 'http://x' }, check), { message: /fetch: url must be https$/ });
  assert.throws(() => buildTask('fetch', schema, { url: 'https://x', retries: Infinity }, check), { message: /fetch: option "retries" must be a number$/ });
  assert.throws(() => buildTask('fetch', schema, { url: 'https://x', token: 5 } as never, check), { message: /fetch: option "token" must be a string or a secret$/ });
  assert.throws(() => buildTask('fetch', schema, { url: 'https://x', retires: 1 } as never, check), { message: /fetch: unknown option "retires" \(did you mean "retries"\?\)$/ });
});

const VALIDATE: { name: string; options: unknown; message: string }[] = [
  { name: 'null options', options: null, message: 'm: options must be an object' },
  { name: 'array options', options: [], message: 'm: options must be an object' },
  { name: 'string options', options: 'x', message: 'm: options must be an object' },
];

for (const c of VALIDATE) {
  test(`validateOptions: ${c.name}`, () => {
    assert.throws(() => validateOptions('m', {}, c.options as never), { name: 'PlaybookError', message: c.message });
    assert.throws(() => validateOptions('m', {}, c.options as never, 'pb.ts:3'), { name: 'PlaybookError', message: `pb.ts:3: ${c.message}` });
  });
}

const MODES: [string | number | undefined, string | undefined][] = [
  [undefined, undefined],
  ['644', '0644'],
  ['0644', '0644'],
  ['4755', '4755'],
  [0o644, '0644'],
  [0o4755, '4755'],
  [0, '0000'],
  ['00755', '0755'],
];

for (const [input, expected] of MODES) {
  test(`normalizeMode(${typeof input === 'number' ? `0o${input.toString(8)}` : JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
    assert.equal(normalizeMode(input), expected);
  });
}

test('callerOrigin: called directly from a test, the test line', () => {
  const [origin, here] = [callerOrigin(), new Error()];
  assert.equal(origin, `${HERE}:${lineOf(here)}`);
});
