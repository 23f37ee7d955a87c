/**
 * Not a test: drives the live view with fake, delayed events so it can be eyeballed in a
 * real terminal (`node --import tsx test/output/demo-live.ts [--dry-run] [-v]`), e.g. under tmux.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '../../src/engine/events.js';
import { createOutput } from '../../src/output/choose.js';
import { DIFF } from './fixtures.js';

const dryRun = process.argv.includes('--dry-run');
const verbose = process.argv.includes('-v');
const output = createOutput({ json: false, verbose, diff: true, isTTY: process.stdout.isTTY === true, ci: false });
const emit = (e: RunEvent): void => output.listener(e);
const hosts = ['web1', 'web2', 'db1'];
const started = Date.now();

async function host(name: string, play: string, tasks: string[], failAt?: string): Promise<void> {
  for (const task of tasks) {
    emit({ type: 'task-start', host: name, play, task, handler: false });
    if (task === 'upload app.tar.gz') {
      for (let mb = 0; mb <= 40; mb += 8) {
        emit({ type: 'progress', host: name, task, message: `uploading ${mb} MB / 40 MB (16 MB/s)` });
        await sleep(250);
      }
    } else {
      await sleep(300 + Math.random() * 500);
    }
    if (task === failAt) {
      emit({
        type: 'task', host: name, play, task, status: 'failed', reason: 'command failed', handler: false, durationMs: 400,
        error: { message: 'exit 100', command: 'apt-get install -y postgresql-17', code: 100, stderrTail: 'E: Unable to locate package postgresql-17' },
      });
      return;
    }
    const changed = task.startsWith('template') || task.startsWith('upload');
    emit({
      type: 'task', host: name, play, task, status: changed ? 'changed' : 'ok', reason: changed ? 'content differs' : 'up to date',
      diff: task.startsWith('template') ? DIFF : undefined, handler: false, durationMs: 500,
    });
  }
}

emit({ type: 'run-start', playbook: 'site.ts', dryRun, hosts });
emit({ type: 'play-start', play: 'webservers', hosts: ['web1', 'web2'] });
const webTasks = ['apt: nginx', 'template /etc/motd', 'upload app.tar.gz', 'service nginx'];
await Promise.all([host('web1', 'webservers', webTasks), host('web2', 'webservers', webTasks)]);
emit({ type: 'play-end', play: 'webservers' });

emit({ type: 'play-start', play: 'databases', hosts: ['db1', 'web2'] });
await Promise.all([
  (async () => {
    await sleep(1200);
    emit({ type: 'unreachable', host: 'db1', message: 'connect ETIMEDOUT 10.0.0.9:22' });
  })(),
  host('web2', 'databases', ['apt: postgresql-17', 'service postgresql'], 'apt: postgresql-17'),
]);
emit({ type: 'play-end', play: 'databases' });

emit({
  type: 'recap', dryRun, durationMs: Date.now() - started,
  hosts: {
    web1: { ok: 2, changed: 2, failed: 0, skipped: 0, ignored: 0, unreachable: false },
    web2: { ok: 2, changed: 2, failed: 1, skipped: 0, ignored: 0, unreachable: false },
    db1: { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: true },
  },
});
await output.done();
