import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTask, type HostSession } from '../../src/engine/task-runner.js';
import type { PreparedTask } from '../../src/engine/prepare.js';
import { EffectStore } from '../../src/facts/effects.js';
import { change, noop } from '../../src/modules/decision.js';
import { defineModule } from '../../src/modules/define.js';
import { TransportError, type Transport } from '../../src/transport/types.js';
import type { Host } from '../../src/inventory/types.js';

const host: Host = {
  name: 'h',
  address: '192.0.2.1',
  groups: [],
  vars: {},
  become: false,
  connection: { address: '192.0.2.1', port: 22, user: 'root', identityFiles: [], knownHosts: '/dev/null', hostKeyChecking: 'strict', proxyJump: [], connectTimeout: 1, transport: 'ssh' },
};

function transport(putError: TransportError): Transport {
  return {
    name: 'h',
    exec: async () => ({ code: 0, stdout: '', stderr: '' }),
    put: async () => {
      throw putError;
    },
    get: async () => Buffer.alloc(0),
    close: async () => undefined,
  };
}

const uploading = defineModule<Record<string, never>>({
  name: 'uploading',
  schema: {},
  describe: () => 'upload a file',
  facts: () => ({}),
  decide: () => change('needs the file', [{ kind: 'upload', from: '/etc/hostname', to: '/nowhere/x' }]),
});

const task: PreparedTask = {
  task: { kind: 'task', module: 'uploading', options: {}, common: {} },
  module: uploading,
  plan: {},
  name: 'upload a file',
  notify: [],
  listen: ['upload a file'],
  handler: false,
};

const session = (t: Transport): HostSession => ({ host, transport: t, effects: new EffectStore(), nonce: 'N', dryRun: false, now: new Date(0), emit: () => undefined });

test('an upload that fails on the host fails the task; the host stays reachable', async () => {
  const outcome = await runTask(session(transport(new TransportError('io', 'h', 'h: cannot write /nowhere/x: No such file'))), task, {});
  assert.deepEqual(outcome, { status: 'failed', reason: 'h: cannot write /nowhere/x: No such file', error: { message: 'h: cannot write /nowhere/x: No such file' } });
});

test('a connection lost during an upload is not a task failure: the host becomes unreachable', async () => {
  await assert.rejects(runTask(session(transport(new TransportError('disconnected', 'h', 'h: connection lost'))), task, {}), (e: unknown) => e instanceof TransportError && e.kind === 'disconnected');
});

test('a task whose facts need nothing and that has nothing to do says why', async () => {
  const quiet = defineModule<Record<string, never>>({ name: 'q', schema: {}, describe: () => 'q', facts: () => ({}), decide: () => noop('all good') });
  assert.deepEqual(await runTask(session(transport(new TransportError('io', 'h', 'x'))), { ...task, module: quiet }, {}), { status: 'ok', reason: 'all good' });
});
