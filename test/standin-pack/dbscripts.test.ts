// The stand-in pack's dbscripts keep the product scripts' traits: they apply to an empty
// database, a second run fails, and on utf8mb4 the MySQL identity script fails on key length.
// scripts/standin-pack/check-dbscripts.sh runs them against private, throwaway MariaDB and
// PostgreSQL servers (never the machine's own). .ci/run installs both; a missing one fails the
// test with what to install.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CHECK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'standin-pack', 'check-dbscripts.sh');
const SKIPPED = 77;

describe('stand-in dbscripts', { timeout: 180_000 }, () => {
  for (const engine of ['mysql', 'postgresql']) {
    it(`${engine}: apply once, fail on a second run${engine === 'mysql' ? ', need latin1' : ''}`, () => {
      const result = spawnSync(CHECK, [engine], { encoding: 'utf8', timeout: 170_000 });
      const output = `${result.stdout}${result.stderr}`;
      assert.notEqual(result.status, SKIPPED, `server not installed (apt-get install mariadb-server postgresql): ${output}`);
      assert.equal(result.status, 0, output);
      assert.doesNotMatch(output, /^FAIL/m);
      assert.equal(output.match(/^PASS/gm)?.length, engine === 'mysql' ? 9 : 8, output);
    });
  }
});
