/**
 * Not a test itself: live.test.ts runs this as a child to prove that a CLI which never calls
 * done() (the engine threw) still exits and still shows the error it printed mid-view.
 */
import { liveListener } from '../../src/output/live.js';

if (process.argv.includes('--tty')) (process.stdout as { isTTY?: boolean }).isTTY = true;
const live = liveListener({ verbose: false, diff: false, color: false });
live.listener({ type: 'play-start', play: 'p', hosts: ['a'] });
live.listener({ type: 'task-start', host: 'a', play: 'p', task: 'slow', handler: false });
setTimeout(() => {
  process.stderr.write('error: engine blew up\n');
  process.exitCode = 1;
}, 300);
