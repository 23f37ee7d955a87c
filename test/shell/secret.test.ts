import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect, format } from 'node:util';
import { Secret, Masker, isSecret, secretsIn, revealAll } from '../../src/shell/secret.js';

const VALUE = 'hunter2-s3cr3t';

const SHOWN: { name: string; show: (s: Secret) => string }[] = [
  { name: 'String()', show: (s) => String(s) },
  { name: 'template literal', show: (s) => `${s}` },
  { name: 'string concatenation', show: (s) => 'x' + s },
  { name: 'JSON.stringify', show: (s) => JSON.stringify(s) },
  { name: 'JSON.stringify nested', show: (s) => JSON.stringify({ vars: { password: s, list: [s] } }) },
  { name: 'util.inspect', show: (s) => inspect(s) },
  { name: 'util.inspect nested deep', show: (s) => inspect({ a: { b: { password: s } } }, { depth: 10 }) },
  { name: 'util.inspect showHidden', show: (s) => inspect(s, { showHidden: true }) },
  { name: 'util.format %s', show: (s) => format('%s', s) },
  { name: 'util.format %o', show: (s) => format('%o', s) },
  { name: 'util.format %j', show: (s) => format('%j', s) },
  { name: 'Error message', show: (s) => new Error(`failed with ${s}`).message },
  { name: 'array join', show: (s) => [s, s].join(',') },
];

for (const c of SHOWN) {
  test(`Secret is masked through ${c.name}`, () => {
    const text = c.show(new Secret(VALUE, 'vault'));
    assert.ok(!text.includes(VALUE), text);
    assert.ok(text.includes('***'), text);
  });
}

test('Secret: reveal() and source', () => {
  const secret = new Secret(VALUE, 'inventory:web1');
  assert.equal(secret.reveal(), VALUE);
  assert.equal(secret.source, 'inventory:web1');
  assert.equal(new Secret('x').source, 'secret');
  assert.deepEqual(Object.keys(secret), ['source']);
});

const IS_SECRET: { name: string; value: unknown; expected: boolean }[] = [
  { name: 'a Secret', value: new Secret('x'), expected: true },
  { name: 'a string', value: 'x', expected: false },
  { name: 'null', value: null, expected: false },
  { name: 'undefined', value: undefined, expected: false },
  { name: 'a plain object', value: { reveal: () => 'x' }, expected: false },
  { name: 'another copy of the class (branded object)', value: { [Symbol.for('is-provision.secret')]: true }, expected: true },
];

for (const c of IS_SECRET) {
  test(`isSecret: ${c.name}`, () => assert.equal(isSecret(c.value), c.expected));
}

const MASKER_CASES: { name: string; secrets: string[]; text: string; expected: string; empty?: boolean }[] = [
  { name: 'one secret, several occurrences', secrets: ['hunter2'], text: 'pw=hunter2 again hunter2', expected: 'pw=*** again ***' },
  { name: 'longest first', secrets: ['abc', 'abcdef'], text: 'x abcdef y abc', expected: 'x *** y ***' },
  { name: 'regexp characters are literal', secrets: ['a.c$(x)'], text: 'abc a.c$(x)', expected: 'abc ***' },
  { name: 'one-character secrets are ignored', secrets: ['a'], text: 'banana', expected: 'banana', empty: true },
  { name: 'empty secrets are ignored', secrets: [''], text: 'text', expected: 'text', empty: true },
  { name: 'duplicates', secrets: ['pw', 'pw'], text: 'pwpw', expected: '******' },
  { name: 'no secrets', secrets: [], text: 'anything', expected: 'anything', empty: true },
  { name: 'multi-line secret', secrets: ['line1\nline2'], text: 'begin line1\nline2 end', expected: 'begin *** end' },
];

for (const c of MASKER_CASES) {
  test(`Masker: ${c.name}`, () => {
    const masker = new Masker(c.secrets.map((s) => new Secret(s)));
    assert.equal(masker.mask(c.text), c.expected);
    assert.equal(masker.empty, c.empty ?? false);
  });
}

test('secretsIn finds secrets in nested vars', () => {
  const a = new Secret('a1');
  const b = new Secret('b2');
  const found = secretsIn({ x: 1, list: ['s', a, { deep: b }], none: null });
  assert.deepEqual(found, [a, b]);
});

test('revealAll replaces secrets and keeps other values as they are', () => {
  const when = new Date('2024-05-06T07:08:09Z');
  const bytes = Buffer.from('xy');
  const revealed = revealAll({ pw: new Secret('p'), list: [new Secret('q'), 2], when, bytes, n: null }) as Record<string, unknown>;
  assert.equal(revealed.pw, 'p');
  assert.deepEqual(revealed.list, ['q', 2]);
  assert.ok(revealed.when instanceof Date, 'a Date stays a Date');
  assert.equal((revealed.when as Date).toISOString(), '2024-05-06T07:08:09.000Z');
  assert.ok(Buffer.isBuffer(revealed.bytes), 'a Buffer stays a Buffer');
  assert.equal(revealed.n, null);
});
