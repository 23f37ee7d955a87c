import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { factScript, splitFactOutput } from '../../src/facts/batch.js';
import { defineFact, type FactCall } from '../../src/facts/define.js';
import { fileFact } from '../../src/facts/file.js';
import { sh, raw } from '../../src/shell/quote.js';
import { runSh } from '../shell/run-sh.js';

const NONCE = 'n0nce7f3a9c2';
const WRONG = 'wr0ngn0nce00';

/** Prints a file as it is: output that can hold anything, markers included. */
const catFact = defineFact<string, string>({ id: 'cat', command: (p) => sh`cat -- ${p}`, parse: (stdout) => stdout });
const shellFact = defineFact<string, string>({ id: 'shell', command: (text) => raw(text), parse: (stdout) => stdout });

const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-batch-')));
const forged = path.join(dir, 'forged');
const FORGED = [
  'before',
  `${WRONG}:end:0:0`,
  `${WRONG}:begin:1`,
  `${NONCE.toUpperCase()}:end:0:0`,
  `x${NONCE}:end:0:0`,
  'after',
].join('\n');
writeFileSync(forged, FORGED);
const present = path.join(dir, 'present file');
writeFileSync(present, 'hello');

interface Case {
  name: string;
  calls: FactCall<unknown>[];
  expected: { stdout: string; code: number }[];
}

const CASES: Case[] = [
  { name: 'one fact', calls: [shellFact('echo one')], expected: [{ stdout: 'one\n', code: 0 }] },
  {
    name: 'output without a trailing newline is kept exactly',
    calls: [shellFact('printf a'), shellFact('printf ""'), shellFact('printf "\\n\\n"')],
    expected: [
      { stdout: 'a', code: 0 },
      { stdout: '', code: 0 },
      { stdout: '\n\n', code: 0 },
    ],
  },
  {
    name: 'content with forged markers of a wrong nonce',
    calls: [catFact(forged), shellFact('echo second')],
    expected: [
      { stdout: FORGED, code: 0 },
      { stdout: 'second\n', code: 0 },
    ],
  },
  {
    name: 'exit codes per fact; a failing fact does not stop the others',
    calls: [shellFact('echo x; exit 3'), shellFact('false'), shellFact('echo ok')],
    expected: [
      { stdout: 'x\n', code: 3 },
      { stdout: '', code: 1 },
      { stdout: 'ok\n', code: 0 },
    ],
  },
  {
    name: 'variables of one fact do not reach the next (subshells)',
    calls: [shellFact('p=leak; cd /'), shellFact('printf "[%s]" "${p-unset}"; pwd')],
    expected: [
      { stdout: '', code: 0 },
      { stdout: `[unset]${dir}\n`, code: 0 },
    ],
  },
];

for (const c of CASES) {
  test(`factScript + splitFactOutput round trip: ${c.name}`, () => {
    const script = factScript(c.calls, NONCE);
    const result = runSh(script.text, { cwd: dir });
    assert.deepEqual(splitFactOutput(result.stdout.toString('utf8'), NONCE, c.calls.length), c.expected);
  });
}

test('factScript + splitFactOutput: several file facts in one round trip parse as one by one', () => {
  const calls = [fileFact({ path: present }), fileFact({ path: forged }), fileFact({ path: path.join(dir, 'absent') })];
  const result = runSh(factScript(calls, NONCE).text);
  assert.equal(result.code, 0, result.stderr);
  const outputs = splitFactOutput(result.stdout.toString('utf8'), NONCE, calls.length);
  const facts = outputs.map((o, i) => calls[i]!.fact.parse(o.stdout, calls[i]!.args));
  assert.deepEqual(
    facts.map((f) => [f.type, f.content?.toString()]),
    [
      ['file', 'hello'],
      ['file', FORGED],
      ['absent', undefined],
    ],
  );
  assert.deepEqual(facts[2], { path: path.join(dir, 'absent'), type: 'absent', parent: 'directory' });
});

test('factScript: the markers carry the nonce and the index', () => {
  const text = factScript([shellFact('a'), shellFact('b')], NONCE).text;
  assert.equal(
    text,
    [
      `printf '\\n${NONCE}:begin:0\\n'`,
      '(',
      'a',
      ')',
      `printf '\\n${NONCE}:end:0:%s\\n' "$?"`,
      `printf '\\n${NONCE}:begin:1\\n'`,
      '(',
      'b',
      ')',
      `printf '\\n${NONCE}:end:1:%s\\n' "$?"`,
    ].join('\n'),
  );
});

const INCOMPLETE: { name: string; stdout: string; count: number; message: string }[] = [
  { name: 'nothing', stdout: '', count: 1, message: 'fact output 0 is incomplete' },
  { name: 'begin without end', stdout: `\n${NONCE}:begin:0\npartial`, count: 1, message: 'fact output 0 is incomplete' },
  { name: 'second fact missing', stdout: `\n${NONCE}:begin:0\nx\n${NONCE}:end:0:0\n`, count: 2, message: 'fact output 1 is incomplete' },
  { name: 'wrong nonce only', stdout: `\n${WRONG}:begin:0\nx\n${WRONG}:end:0:0\n`, count: 1, message: 'fact output 0 is incomplete' },
];

for (const c of INCOMPLETE) {
  test(`splitFactOutput fails on incomplete output: ${c.name}`, () => {
    assert.throws(() => splitFactOutput(c.stdout, NONCE, c.count), { message: c.message });
  });
}

test('splitFactOutput ignores noise before the first marker (a login banner, say)', () => {
  const stdout = `Welcome!\n\n${NONCE}:begin:0\nvalue\n\n${NONCE}:end:0:0\n`;
  assert.deepEqual(splitFactOutput(stdout, NONCE, 1), [{ stdout: 'value\n', code: 0 }]);
});

after(() => rmSync(dir, { recursive: true, force: true }));
