/**
 * `toml`: sets and removes keys in a TOML file on the host, leaving the rest of it as it was.
 *
 * Options:
 * - `path` (required): the file on the host.
 * - `set`: key path → value. A key path is TOML's dotted key: `'server.hostname'`,
 *   `'transport.https.properties.proxyPort'`, `'"a.b".c'` for a segment with dots or other
 *   characters. Values: strings, numbers (integers stay integers; a float in the file stays a
 *   float), bigints, booleans, Dates, arrays, Secrets (written into the file, shown as *** in
 *   the diff) and plain objects. A plain object makes the table hold exactly that content: keys
 *   of the table that the object lacks are removed, sub-tables included. To change one key of a
 *   table and keep the others, set the key's own path (`'database.identity_db.url'`). An array
 *   of plain objects is an array of tables (`[[key]]`).
 * - `unset`: key paths to remove (a whole table with its sub-tables, or one key).
 * - `create`: create the file when missing (default false: a missing file is an error).
 *
 * Only what changes is touched: comments, blank lines, key order and formatting elsewhere stay
 * byte for byte, so the diff shows the changed lines only. A new key goes after the last key of
 * its table; a new table goes after the last section of its parent table (`[database.user]`
 * after `[database.shared_db]`), else at the end. A removed row takes only its own line(s); a
 * removed section takes the comment lines right above its header. The file is written atomically
 * and keeps its mode and owner. Invalid TOML on the host fails the task with its line and column
 * and leaves the file alone.
 *
 * @example
 * toml({
 *   path: '/opt/wso2is/repository/conf/deployment.toml',
 *   set: {
 *     'server.hostname': 'is.wso2.com',
 *     'server.offset': 1,
 *     'transport.https.properties.proxyPort': 443,
 *     'database.identity_db': { type: 'mysql', url: 'jdbc:mysql://db:3306/IDENTITY_DB', username: 'wso2', password: vars.db_password },
 *   },
 * })
 */
import { LocalDate, LocalDateTime, LocalTime } from '@decimalturn/toml-patch';
import type { FileFact } from '../facts/file.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { isSecret, secretsIn } from '../shell/secret.js';
import { TaskFailure, noop, type Decision } from './decision.js';
import { defineModule } from './define.js';
import { currentText, textFileFact, writeText } from './text-file.js';
import {
  addAt, indexToml, removeAt, replaceAt, TomlSyntaxError,
  type Address, type ArrayNode, type KeyPath, type Row, type TableNode, type TomlIndex,
} from './toml-edit.js';
import { isTable, isTableArray, parseKeyPath, renderKey, renderString } from './toml-render.js';

export interface TomlOptions {
  path: string;
  set?: Record<string, unknown>;
  unset?: string[];
  create?: boolean;
}

/** What the module plans with: key paths split into segments. */
export interface TomlPlan {
  path: string;
  set: { key: string; path: KeyPath; value: unknown }[];
  unset: { key: string; path: KeyPath }[];
  create: boolean;
}

const SCHEMA: OptionsSchema = {
  path: { type: 'string', required: true },
  set: { type: 'record' },
  unset: { type: 'strings' },
  create: { type: 'boolean' },
};

export function planToml(o: TomlOptions): TomlPlan {
  return {
    path: o.path,
    set: Object.entries(o.set ?? {}).map(([key, value]) => ({ key, path: parseKeyPath(key), value })),
    unset: (o.unset ?? []).map((key) => ({ key, path: parseKeyPath(key) })),
    create: o.create ?? false,
  };
}

type Table = Record<string, unknown>;
const has = (t: Table, k: string): boolean => Object.hasOwn(t, k);

function dateKind(d: Date): string {
  return d instanceof LocalDate ? 'date' : d instanceof LocalTime ? 'time' : d instanceof LocalDateTime ? 'local' : 'offset';
}

/** Whether the document's value is the value wanted; a Secret matches its revealed value. */
export function sameValue(have: unknown, want: unknown): boolean {
  if (isSecret(want)) return have === want.reveal();
  if ((typeof want === 'number' || typeof want === 'bigint') && (typeof have === 'number' || typeof have === 'bigint')) {
    if (typeof want === typeof have) return have === want || (Number.isNaN(have) && Number.isNaN(want));
    return Number.isInteger(Number(have)) && Number.isInteger(Number(want)) && BigInt(have) === BigInt(want);
  }
  if (want instanceof Date) return have instanceof Date && have.getTime() === want.getTime() && dateKind(have) === dateKind(want);
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => sameValue(have[i], w));
  if (isTable(want)) {
    if (!isTable(have)) return false;
    const keys = Object.keys(want);
    return keys.length === Object.keys(have).length && keys.every((k) => has(have, k) && sameValue(have[k], want[k]));
  }
  return have === want;
}

// Tables without a prototype, so that a key named __proto__ is a key like any other.
const table = (): Table => Object.create(null) as Table;

function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (isTable(value)) return Object.assign(table(), Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])));
  return value;
}

function kindOf(value: unknown): string {
  if (isTableArray(value)) return 'an array of tables';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date/time';
  return typeof value === 'string' ? 'a string' : typeof value === 'boolean' ? 'a boolean' : 'a number';
}

function lookup(root: Table, path: KeyPath): { found: boolean; value?: unknown } {
  let t: unknown = root;
  for (const segment of path) {
    if (!isTable(t) || !has(t, segment)) return { found: false };
    t = t[segment];
  }
  return { found: true, value: t };
}

/** The document's value with the plan applied. */
function wanted(file: string, have: Table, plan: TomlPlan): Table {
  const want = copy(have) as Table;
  for (const { path } of plan.unset) {
    const parent = lookup(want, path.slice(0, -1));
    if (parent.found && isTable(parent.value)) delete parent.value[path[path.length - 1]!];
  }
  for (const { key, path, value } of plan.set) {
    let t = want;
    path.slice(0, -1).forEach((segment, i) => {
      if (!has(t, segment)) t[segment] = table();
      const next = t[segment];
      if (!isTable(next)) {
        const what = isTableArray(next) ? `${kindOf(next)} (set the whole array)` : `${kindOf(next)}, not a table`;
        throw new TaskFailure(`${file}: cannot set ${key}: ${renderKey(path.slice(0, i + 1))} is ${what}`);
      }
      t = next;
    });
    t[path[path.length - 1]!] = copy(value);
  }
  return want;
}

type Op =
  | { kind: 'remove'; address: Address }
  | { kind: 'replace'; address: Address; value: unknown; row: Row }
  | { kind: 'add'; address: Address; value: unknown };

/** The edits that turn the document's tables into the wanted ones, descending only where they differ. */
function reconcile(node: TableNode, address: Address, have: Table, want: Table, ops: Op[]): void {
  for (const key of Object.keys(have)) if (!has(want, key)) ops.push({ kind: 'remove', address: [...address, key] });
  for (const [key, value] of Object.entries(want)) {
    const at = [...address, key];
    if (!has(have, key)) {
      ops.push({ kind: 'add', address: at, value });
      continue;
    }
    const old = have[key];
    if (sameValue(old, value)) continue;
    const child = node.children.get(key)!;
    if (child.kind === 'table' && isTable(value) && isTable(old)) reconcile(child, at, old, value, ops);
    else if (child.kind === 'array' && isTableArray(value)) reconcileArray(child, at, old as Table[], value, ops);
    else if (child.kind === 'value' && (isTable(value) ? child.row.valueType === 'InlineTable' : !isTableArray(value) || child.row.valueType === 'InlineArray')) {
      ops.push({ kind: 'replace', address: at, value, row: child.row });
    } else ops.push({ kind: 'remove', address: at }, { kind: 'add', address: at, value });
  }
}

function reconcileArray(node: ArrayNode, at: Address, have: Table[], want: Table[], ops: Op[]): void {
  for (let i = 0; i < Math.min(have.length, want.length); i++) {
    if (!sameValue(have[i], want[i])) reconcile(node.elements[i]!, [...at, i], have[i]!, want[i]!, ops);
  }
  // From the end, so that each removal leaves the indexes of the ones still to remove as they were.
  for (let i = have.length - 1; i >= want.length; i--) ops.push({ kind: 'remove', address: [...at, i] });
  for (let i = have.length; i < want.length; i++) ops.push({ kind: 'add', address: [...at, i], value: want[i] });
}

function apply(index: TomlIndex, op: Op): string {
  if (op.kind === 'remove') return removeAt(index, op.address);
  if (op.kind === 'replace') return replaceAt(index, op.address, op.value);
  return addAt(index, op.address, op.value);
}

/**
 * The diff with secret values masked: the new values wherever they appear, and the old values of
 * the rows they replace (the password being rotated is as secret as the new one).
 */
function maskDiff(diff: string, text: string, secrets: readonly string[], replaced: readonly Row[]): string {
  const masked = new Map<number, string>();
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const row of replaced) {
    const first = lineOf(row.valueStart);
    const last = lineOf(row.valueEnd);
    const lineStart = text.lastIndexOf('\n', row.valueStart - 1) + 1;
    const tail = first === last ? text.slice(row.valueEnd, text.indexOf('\n', row.valueEnd) < 0 ? text.length : text.indexOf('\n', row.valueEnd)) : '';
    masked.set(first, text.slice(lineStart, row.valueStart) + '"***"' + tail);
    for (let l = first + 1; l <= last; l++) masked.set(l, '***');
  }
  let oldLine = 0;
  const lines = diff.split('\n').map((line) => {
    const hunk = /^@@ -(\d+)/.exec(line);
    if (hunk) oldLine = Number(hunk[1]);
    else if (!line.startsWith('--- ') && !line.startsWith('+++ ') && (line.startsWith(' ') || line.startsWith('-'))) {
      const replacement = masked.get(oldLine++);
      if (replacement !== undefined) return line[0] + replacement.replace(/\r$/, '');
    }
    return line;
  });
  let out = lines.join('\n');
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(renderString(secret)).join('"***"');
    if (secret.length >= 2) out = out.split(renderString(secret).slice(1, -1)).join('***').split(secret).join('***');
  }
  return out;
}

function list(keys: readonly string[]): string {
  const shown = keys.slice(0, 8).join(', ');
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}

export function decideToml(plan: TomlPlan, fact: FileFact): Decision {
  const { path } = plan;
  const original = currentText(path, fact);
  if (original === undefined && plan.set.length === 0) return noop(`${path} does not exist, so ${list(plan.unset.map((u) => u.key))} absent`);
  if (original === undefined && !plan.create) throw new TaskFailure(`${path} does not exist (set create: true to create it)`);
  const bom = original?.startsWith('\uFEFF') ? '\uFEFF' : '';
  const text = (original ?? '').slice(bom.length);
  let index: TomlIndex;
  try {
    index = indexToml(text);
  } catch (error) {
    if (error instanceof TomlSyntaxError) throw new TaskFailure(`${path}:${error.line}:${error.column}: invalid TOML: ${error.message}`);
    throw error;
  }
  const want = wanted(path, index.value, plan);
  const toSet = plan.set
    .filter((s) => {
      const now = lookup(index.value, s.path);
      return !(now.found && sameValue(now.value, s.value));
    })
    .map((s) => s.key);
  const toUnset = plan.unset.filter((u) => lookup(index.value, u.path).found).map((u) => u.key);
  const done = [
    ...(plan.set.length > 0 ? [`${list(plan.set.map((s) => s.key))} already set`] : []),
    ...(plan.unset.length > 0 ? [`${list(plan.unset.map((u) => u.key))} absent`] : []),
  ];
  const unchanged = `${path}: ${done.join('; ')}`;
  if (toSet.length === 0 && toUnset.length === 0) return noop(unchanged);

  const ops: Op[] = [];
  let current = index;
  try {
    reconcile(index.root, [], index.value, want, ops);
    for (const op of ops) current = indexToml(apply(current, op));
  } catch (error) {
    throw new TaskFailure(`${path}: cannot edit: ${(error as Error).message}; the file is left as it was`);
  }
  if (!sameValue(current.value, want)) throw new TaskFailure(`${path}: the edited file would not read back as the keys set; the file is left as it was`);

  const verbs = [...(toSet.length > 0 ? [`would set ${list(toSet)}`] : []), ...(toUnset.length > 0 ? [`would remove ${list(toUnset)}`] : [])];
  const reason = original === undefined ? `${path} would be created; ${verbs.join('; ')}` : `${path}: ${verbs.join('; ')}`;
  const decision = writeText(path, fact, bom + current.text, reason, unchanged);
  const secrets = plan.set.flatMap((s) => secretsIn(s.value)).map((s) => s.reveal());
  const replaced = ops.flatMap((op) => (op.kind === 'replace' && secretsIn(op.value).length > 0 ? [op.row] : []));
  if (decision.kind !== 'change' || decision.diff === undefined || (secrets.length === 0 && replaced.length === 0)) return decision;
  return { ...decision, diff: maskDiff(decision.diff, text, secrets, replaced) };
}

export const tomlModule = defineModule<TomlOptions, TomlPlan, { path: ReturnType<typeof textFileFact> }>({
  name: 'toml',
  schema: SCHEMA,
  // The keys are in the reason; a task name listing them all would fill the line.
  describe: (o) => {
    const count = Object.keys(o.set ?? {}).length + (o.unset ?? []).length;
    return `toml ${o.path} (${count} ${count === 1 ? 'key' : 'keys'})`;
  },
  prepare: (o) => planToml(o),
  facts: (plan) => ({ path: textFileFact(plan.path) }),
  decide: (plan, facts) => decideToml(plan, facts.path),
});

/** Why a value cannot be written as TOML, if it cannot. */
function badValue(value: unknown, where: string): string | undefined {
  if (isSecret(value) || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return undefined;
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? `${where} is too large to be exact as a number; pass a bigint` : undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? `${where} is an invalid Date` : undefined;
  if (Array.isArray(value)) return value.map((v, i) => badValue(v, `${where}[${i}]`)).find(Boolean);
  if (isTable(value)) return Object.entries(value).map(([k, v]) => badValue(v, `${where}.${renderKey([k])}`)).find(Boolean);
  return `${where} is ${value === null ? 'null' : typeof value}; TOML has strings, numbers, booleans, dates, arrays and tables`;
}

function check(o: TomlOptions): string | undefined {
  if (!o.path.startsWith('/')) return `path must be an absolute path, not ${JSON.stringify(o.path)}`;
  const set = Object.entries(o.set ?? {});
  if (set.length === 0 && (o.unset ?? []).length === 0) return 'give keys to "set" or "unset"';
  const paths: { key: string; path: string[] }[] = [];
  for (const key of [...set.map(([k]) => k), ...(o.unset ?? [])]) {
    try {
      paths.push({ key, path: parseKeyPath(key) });
    } catch (error) {
      return `key ${JSON.stringify(key)}: ${(error as Error).message}`;
    }
  }
  for (const [key, value] of set) {
    const problem = badValue(value, `set[${JSON.stringify(key)}]`);
    if (problem) return problem;
  }
  for (const [i, a] of paths.entries()) {
    for (const b of paths.slice(i + 1)) {
      const n = Math.min(a.path.length, b.path.length);
      if (a.path.slice(0, n).every((s, j) => s === b.path[j])) return `keys ${JSON.stringify(a.key)} and ${JSON.stringify(b.key)} overlap; give each key once`;
    }
  }
  return undefined;
}

/** Sets and removes keys in a TOML file. See the module's TSDoc above. */
export function toml(options: TomlOptions & CommonOptions): Task<TomlOptions> {
  return buildTask('toml', SCHEMA, options, check);
}
