import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlaybook, isPlaybook } from '../../src/playbook/define.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { command } from '../../src/modules/command.js';

const HERE = 'test/playbook/define-playbook.test.ts';
const TASKS = [command({ cmd: 'true' })];

const ERRORS: { name: string; playbook: unknown; message: string }[] = [
  { name: 'not an object', playbook: null, message: 'definePlaybook takes an object' },
  { name: 'a string', playbook: 'site', message: 'definePlaybook takes an object' },
  { name: 'an unknown key', playbook: { name: 'p', plays: [], hostz: 'x' }, message: 'playbook: unknown key "hostz"' },
  { name: 'no name', playbook: { plays: [{ name: 'a', hosts: 'all', tasks: TASKS }] }, message: 'playbook: name is required' },
  { name: 'an empty name', playbook: { name: '', plays: [{ name: 'a', hosts: 'all', tasks: TASKS }] }, message: 'playbook: name is required' },
  { name: 'no plays', playbook: { name: 'p' }, message: 'playbook: plays must be a non-empty array' },
  { name: 'empty plays', playbook: { name: 'p', plays: [] }, message: 'playbook: plays must be a non-empty array' },
  { name: 'plays not an array', playbook: { name: 'p', plays: {} }, message: 'playbook: plays must be a non-empty array' },
  { name: 'a play that is not an object', playbook: { name: 'p', plays: [null] }, message: 'play 1 must be an object' },
  { name: 'a play with an unknown key', playbook: { name: 'p', plays: [{ name: 'web', hosts: 'all', tasks: TASKS, task: [] }] }, message: 'play 1 "web": unknown key "task"' },
  { name: 'a play without a name', playbook: { name: 'p', plays: [{ hosts: 'all', tasks: TASKS }] }, message: 'play 1: name is required' },
  { name: 'the second play without hosts', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all', tasks: TASKS }, { name: 'b', tasks: TASKS }] }, message: 'play 2 "b": hosts must be a group or host name, or an array of them' },
  { name: 'empty hosts array', playbook: { name: 'p', plays: [{ name: 'a', hosts: [], tasks: TASKS }] }, message: 'play 1 "a": hosts must be a group or host name, or an array of them' },
  { name: 'an empty host name', playbook: { name: 'p', plays: [{ name: 'a', hosts: ['web', ''], tasks: TASKS }] }, message: 'play 1 "a": hosts must be a group or host name, or an array of them' },
  { name: 'serial zero', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all', serial: 0, tasks: TASKS }] }, message: 'play 1 "a": serial must be a positive integer' },
  { name: 'serial fractional', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all', serial: 1.5, tasks: TASKS }] }, message: 'play 1 "a": serial must be a positive integer' },
  { name: 'no tasks', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all' }] }, message: 'play 1 "a": tasks must be an array of tasks or a function returning one' },
  { name: 'tasks as an object', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all', tasks: {} }] }, message: 'play 1 "a": tasks must be an array of tasks or a function returning one' },
  { name: 'handlers as a string', playbook: { name: 'p', plays: [{ name: 'a', hosts: 'all', tasks: TASKS, handlers: 'h' }] }, message: 'play 1 "a": handlers must be an array of tasks or a function returning one' },
];

for (const c of ERRORS) {
  test(`definePlaybook rejects ${c.name}`, () => {
    assert.throws(
      () => definePlaybook(c.playbook as never),
      (error: unknown) => {
        assert.ok(error instanceof PlaybookError, String(error));
        assert.ok(error.origin?.startsWith(`${HERE}:`), error.origin);
        assert.equal(error.message, `${error.origin}: ${c.message}`);
        return true;
      },
    );
  });
}

test('definePlaybook: a valid playbook, frozen, with its origin', () => {
  const handlers = [command({ cmd: 'systemctl reload app', name: 'reload app' })];
  const playbook = definePlaybook({
    name: 'site',
    vars: { port: 8080 },
    plays: [
      { name: 'web', hosts: 'web', tasks: TASKS, handlers },
      { name: 'db', hosts: ['db', '!db3'], serial: 1, vars: { x: 'y' }, tasks: () => [command({ cmd: 'true' }), false, null, undefined] },
    ],
  });
  assert.ok(isPlaybook(playbook));
  assert.equal(playbook.name, 'site');
  assert.deepEqual(playbook.vars, { port: 8080 });
  assert.equal(playbook.plays.length, 2);
  assert.ok(Object.isFrozen(playbook) && Object.isFrozen(playbook.plays) && Object.isFrozen(playbook.vars));
  assert.match(playbook.origin ?? '', /^test\/playbook\/define-playbook\.test\.ts:\d+$/);
  assert.ok(!isPlaybook({ name: 'x' }));
  assert.ok(!isPlaybook(undefined));
});

test('definePlaybook: copies vars and plays, so later changes to the input do not leak in', () => {
  const vars: Record<string, string> = { a: '1' };
  const plays = [{ name: 'a', hosts: 'all', tasks: TASKS }];
  const playbook = definePlaybook({ name: 'p', vars, plays });
  vars.a = '2';
  plays.push({ name: 'b', hosts: 'all', tasks: TASKS });
  assert.deepEqual(playbook.vars, { a: '1' });
  assert.equal(playbook.plays.length, 1);
});
