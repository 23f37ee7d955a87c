import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { HostPatternError, selectHosts } from '../../src/inventory/select.js';
import type { Inventory } from '../../src/inventory/types.js';
import { load } from './helpers.js';

let inventory: Inventory;
before(async () => {
  inventory = await load({
    'hosts.toml': `
[hosts.web1]
[hosts.web2]
[hosts.web3]
[hosts.db1]
[hosts.db2]
[hosts.cache]
[groups.web]
hosts = ["web1", "web2", "web3"]
[groups.db]
hosts = ["db1", "db2"]
[groups.prod]
hosts = ["db1", "web1"]
[groups.eu]
hosts = ["web2", "db2"]
`,
  });
});

const cases: { pattern: string | string[]; hosts: string[] }[] = [
  { pattern: 'all', hosts: ['web1', 'web2', 'web3', 'db1', 'db2', 'cache'] },
  { pattern: '*', hosts: ['web1', 'web2', 'web3', 'db1', 'db2', 'cache'] },
  { pattern: 'web', hosts: ['web1', 'web2', 'web3'] },
  { pattern: 'cache', hosts: ['cache'] },
  { pattern: 'db1,web1', hosts: ['web1', 'db1'] },
  { pattern: ' web1 , db1 ', hosts: ['web1', 'db1'] },
  { pattern: 'web*', hosts: ['web1', 'web2', 'web3'] },
  { pattern: 'web?', hosts: ['web1', 'web2', 'web3'] },
  // A glob matches group names too: no host starts with "e", but the group eu does.
  { pattern: 'e*', hosts: ['web2', 'db2'] },
  { pattern: 'nothing*', hosts: [] },
  { pattern: 'web,!web2', hosts: ['web1', 'web3'] },
  { pattern: '!web2', hosts: ['web1', 'web3', 'db1', 'db2', 'cache'] },
  { pattern: '!web,!db', hosts: ['cache'] },
  { pattern: 'web,&prod', hosts: ['web1'] },
  // Intersections and exclusions apply after all unions, wherever they are written.
  { pattern: '&prod,web,db', hosts: ['web1', 'db1'] },
  { pattern: '!db1,web,db,&prod', hosts: ['web1'] },
  { pattern: 'all,&eu,!web*', hosts: ['db2'] },
  { pattern: ['web1', 'db'], hosts: ['web1', 'db1', 'db2'] },
  { pattern: ['web1,cache', '!cache'], hosts: ['web1'] },
];

for (const { pattern, hosts } of cases) {
  test(`select ${JSON.stringify(pattern)}`, () => {
    assert.deepEqual(selectHosts(inventory, pattern).map((host) => host.name), hosts);
  });
}

const errors: { pattern: string; message: string; unknown: string[] }[] = [
  { pattern: 'wbe', message: 'no host or group named "wbe" (did you mean "web"?) in host pattern "wbe"', unknown: ['wbe'] },
  { pattern: 'web,!dbx1,&prd', message: 'no hosts or groups named "dbx1" (did you mean "db1"?), "prd" (did you mean "prod"?) in host pattern "web,!dbx1,&prd"', unknown: ['dbx1', 'prd'] },
  { pattern: 'zzzzzz', message: 'no host or group named "zzzzzz" in host pattern "zzzzzz"', unknown: ['zzzzzz'] },
  { pattern: '', message: 'empty host pattern ""', unknown: [] },
  { pattern: ' , ', message: 'empty host pattern " , "', unknown: [] },
];

for (const { pattern, message, unknown } of errors) {
  test(`select error ${JSON.stringify(pattern)}`, () => {
    assert.throws(
      () => selectHosts(inventory, pattern),
      (error: unknown) => error instanceof HostPatternError && error.message === message && error.unknown.join() === unknown.join(),
    );
  });
}

test('a name that is both a host and a group stands for both', async () => {
  const inventory = await load({ 'hosts.toml': '[defaults]\ntransport = "local"\n[hosts.db]\n[hosts.db2]\n[groups.db]\nhosts = ["db", "db2"]\n' });
  assert.deepEqual(selectHosts(inventory, 'db').map((h) => h.name), ['db', 'db2']);
});
