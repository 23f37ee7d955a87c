import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shell, sh, raw, quote, join } from '../../src/shell/quote.js';
import { Secret } from '../../src/shell/secret.js';
import { HOSTILE, runSh } from './run-sh.js';

const QUOTE_CASES: { name: string; input: string | number; expected: string }[] = [
  { name: 'empty string', input: '', expected: "''" },
  { name: 'plain word', input: 'hello', expected: 'hello' },
  { name: 'path', input: '/etc/hosts', expected: '/etc/hosts' },
  { name: 'safe punctuation', input: 'a-b_c+d=e.f,g/h:i@j%k^l', expected: 'a-b_c+d=e.f,g/h:i@j%k^l' },
  { name: 'number', input: 42, expected: '42' },
  { name: 'negative float', input: -1.5, expected: '-1.5' },
  { name: 'space', input: 'two words', expected: "'two words'" },
  { name: 'single quote', input: "it's", expected: "'it'\\''s'" },
  { name: 'only a single quote', input: "'", expected: "''\\'''" },
  { name: 'command substitution', input: '$(id)', expected: "'$(id)'" },
  { name: 'backticks', input: '`id`', expected: "'`id`'" },
  { name: 'semicolon', input: 'a;b', expected: "'a;b'" },
  { name: 'newline', input: 'a\nb', expected: "'a\nb'" },
  { name: 'unicode', input: 'héllo', expected: "'héllo'" },
  { name: 'glob', input: '*', expected: "'*'" },
  { name: 'tilde', input: '~', expected: "'~'" },
  { name: 'dollar variable', input: '$HOME', expected: "'$HOME'" },
  { name: 'double quotes', input: '"x"', expected: `'"x"'` },
  { name: 'backslash', input: 'a\\b', expected: "'a\\b'" },
  { name: 'hash', input: '#x', expected: "'#x'" },
];

for (const c of QUOTE_CASES) {
  test(`quote: ${c.name}`, () => {
    assert.equal(quote(c.input), c.expected);
  });
}

for (const input of HOSTILE) {
  test(`quote survives sh -c byte for byte: ${JSON.stringify(input)}`, () => {
    const result = runSh(`printf %s ${quote(input)}`);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout, Buffer.from(input, 'utf8'));
  });
}

test('quote: all hostile strings as separate words of one command keep their boundaries', () => {
  const result = runSh(sh`printf '%s\\0' ${HOSTILE}`.text);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.toString('utf8').split('\0').slice(0, -1), [...HOSTILE]);
});

const SH_CASES: { name: string; build: () => Shell; expected: string }[] = [
  { name: 'no values', build: () => sh`ls -l`, expected: 'ls -l' },
  { name: 'a string value is one word', build: () => sh`cat ${'my file'}`, expected: "cat 'my file'" },
  { name: 'a number', build: () => sh`head -n ${10} x`, expected: 'head -n 10 x' },
  { name: 'an array is one word each', build: () => sh`rm -f -- ${['a b', 'c', "d'e"]}`, expected: "rm -f -- 'a b' c 'd'\\''e'" },
  { name: 'an array with numbers and Shell', build: () => sh`x ${[1, 'two', raw('$THREE')]}`, expected: 'x 1 two $THREE' },
  { name: 'an empty array', build: () => sh`echo ${[]}end`, expected: 'echo end' },
  { name: 'a nested Shell is inserted as is', build: () => sh`sudo ${sh`echo ${'a b'}`}`, expected: "sudo echo 'a b'" },
  { name: 'raw is not quoted', build: () => sh`${raw('a | b')} > ${'/tmp/o u t'}`, expected: "a | b > '/tmp/o u t'" },
  { name: 'value at start and end', build: () => sh`${'a'}${'b c'}`, expected: "a'b c'" },
  { name: 'hostile value', build: () => sh`echo ${'$(rm -rf /); `x`'}`, expected: "echo '$(rm -rf /); `x`'" },
  { name: 'join with &&', build: () => join([raw('a'), sh`b ${'c d'}`], '&&'), expected: "a && b 'c d'" },
  { name: 'join with newline', build: () => join([raw('a'), raw('b')], '\n'), expected: 'a\nb' },
  { name: 'join with space', build: () => join([raw('a'), raw('b')], ' '), expected: 'a b' },
];

for (const c of SH_CASES) {
  test(`sh: ${c.name}`, () => {
    const shell = c.build();
    assert.ok(shell instanceof Shell);
    assert.equal(shell.text, c.expected);
    assert.equal(String(shell), c.expected);
  });
}

test('sh: an array value runs as separate argv words', () => {
  const words = ['a b', "c'd", '$(x)', ''];
  const result = runSh(sh`printf '[%s]' ${words}`.text);
  assert.equal(result.stdout.toString(), '[a b][c\'d][$(x)][]');
});

const REFUSED: { name: string; value: unknown; message: RegExp }[] = [
  { name: 'a Secret', value: new Secret('hunter2'), message: /a secret cannot be put on a command line/ },
  { name: 'a Secret inside an array', value: ['ok', new Secret('hunter2')], message: /a secret cannot be put on a command line/ },
  { name: 'null', value: null, message: /cannot put a null into a shell command/ },
  { name: 'undefined', value: undefined, message: /cannot put a undefined into a shell command/ },
  { name: 'an object', value: { a: 1 }, message: /cannot put a object into a shell command/ },
  { name: 'a boolean', value: true, message: /cannot put a boolean into a shell command/ },
];

for (const c of REFUSED) {
  test(`sh refuses ${c.name}`, () => {
    assert.throws(() => sh`echo ${c.value}`, (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, c.message);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });
}
