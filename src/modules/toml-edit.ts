/**
 * Format-preserving TOML edits for the `toml` module: the document is indexed from toml-patch's
 * concrete syntax tree (every key, value and header with its position), then changed by splicing
 * text, so whatever an edit does not touch stays byte for byte as it was. Each edit is made on a
 * fresh index of the text the previous edit left, so no edit works from stale positions.
 *
 * The index also records how each table is defined (header, dotted keys, only through its
 * sub-tables, array element), which decides where a new key can go; on the way it rejects what
 * TOML forbids (a key or table defined twice, a header for a table made by dotted keys).
 */
import { parse as parseToml, parseDocument } from '@decimalturn/toml-patch';
import { renderKey, isTable, isTableArray, renderValue, renderSections, renderDotted } from './toml-render.js';

export type KeyPath = readonly string[];
/** A path that can step into an array of tables by index. */
export type Address = readonly (string | number)[];

/** A syntax or structure error at a position in the text (1-based line and column). */
export class TomlSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, message: string) {
    super(message);
    this.name = 'TomlSyntaxError';
  }
}

// The parts of toml-patch's syntax tree used here (its types are not exported).
type Pos = { line: number; column: number };
type Loc = { start: Pos; end: Pos };
type CstKey = { value: string[]; loc: Loc };
type CstKeyValue = { type: 'KeyValue'; key: CstKey; value: { type: string; raw?: string; loc: Loc } };
type CstSection = { type: 'Table' | 'TableArray'; key: { item: CstKey; loc: Loc }; items: ({ type: 'Comment' } | CstKeyValue)[]; loc: Loc };
type CstBlock = CstKeyValue | CstSection | { type: 'Comment'; loc: Loc };

/** One `key = value` line (or lines, for a multi-line value), as offsets into the text. */
export interface Row {
  key: KeyPath;
  /** Start of its line and end of its last line, newline included. */
  start: number;
  end: number;
  valueStart: number;
  valueEnd: number;
  valueType: string;
  valueRaw?: string;
}

/** The root, a `[table]` or one `[[array]]` element: its header and the rows under it. */
export interface Section {
  kind: 'root' | 'table' | 'element';
  path: KeyPath;
  /** Start of the header line (0 for the root) and the end of the header line. */
  start: number;
  headerEnd: number;
  /** The end of the last row's line, or the header's end when it has no rows. */
  rowsEnd: number;
  rows: Row[];
}

export type TableDef = 'root' | 'header' | 'implicit' | 'dotted' | 'element';
export interface TableNode {
  kind: 'table';
  def: TableDef;
  children: Map<string, TomlNode>;
  section?: Section;
  /** For tables made by dotted keys: the section they are written in and the key prefix there. */
  dottedIn?: Section;
  dottedPrefix?: KeyPath;
}
export interface ValueNode {
  kind: 'value';
  row: Row;
}
export interface ArrayNode {
  kind: 'array';
  elements: TableNode[];
}
export type TomlNode = TableNode | ValueNode | ArrayNode;

export interface TomlIndex {
  text: string;
  root: TableNode;
  /** Every section in file order, the root first. */
  sections: Section[];
  /** The document's values (date/time values as toml-patch's Date classes). */
  value: Record<string, unknown>;
  newline: string;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

export function lineEndAfter(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

function syntaxError(error: unknown): TomlSyntaxError {
  const e = error as { message?: string; line?: number; column?: number };
  const message = String(e.message ?? error).split('\n').filter(Boolean).pop() ?? 'parse error';
  return new TomlSyntaxError(e.line ?? 1, (e.column ?? 0) + 1, message);
}

/** Parses and indexes a document; throws TomlSyntaxError for invalid TOML. */
export function indexToml(text: string): TomlIndex {
  let cst: CstBlock[];
  let value: Record<string, unknown>;
  try {
    cst = parseDocument(text).cst as unknown as CstBlock[];
    value = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw syntaxError(error);
  }
  const starts = lineStarts(text);
  const at = (p: Pos): number => (starts[p.line - 1] ?? text.length) + p.column;
  const fail = (loc: Loc, message: string): never => {
    throw new TomlSyntaxError(loc.start.line, loc.start.column + 1, message);
  };
  const name = (path: KeyPath) => renderKey(path);

  const rootSection: Section = { kind: 'root', path: [], start: 0, headerEnd: 0, rowsEnd: 0, rows: [] };
  const root: TableNode = { kind: 'table', def: 'root', children: new Map(), section: rootSection };
  const sections: Section[] = [rootSection];

  const addRow = (table: TableNode, section: Section, kv: CstKeyValue) => {
    const key = kv.key.value;
    let t = table;
    for (let i = 0; i < key.length - 1; i++) {
      const child = t.children.get(key[i]!);
      if (child === undefined) {
        const made: TableNode = { kind: 'table', def: 'dotted', children: new Map(), dottedIn: section, dottedPrefix: key.slice(0, i + 1) };
        t.children.set(key[i]!, made);
        t = made;
      } else if (child.kind === 'table' && child.def === 'dotted' && child.dottedIn === section) {
        t = child;
      } else {
        fail(kv.key.loc, `cannot add to ${name([...section.path, ...key.slice(0, i + 1)])} with a dotted key: it is defined elsewhere`);
      }
    }
    const last = key[key.length - 1]!;
    if (t.children.has(last)) fail(kv.key.loc, `${name([...section.path, ...key])} is defined twice`);
    const valueStart = at(kv.value.loc.start);
    const valueEnd = at(kv.value.loc.end);
    const row: Row = {
      key,
      start: starts[kv.key.loc.start.line - 1]!,
      end: lineEndAfter(text, valueEnd),
      valueStart,
      valueEnd,
      valueType: kv.value.type,
      ...(kv.value.raw !== undefined ? { valueRaw: kv.value.raw } : {}),
    };
    t.children.set(last, { kind: 'value', row });
    section.rows.push(row);
    section.rowsEnd = row.end;
  };

  const openSection = (block: CstSection): { table: TableNode; section: Section } => {
    const path = block.key.item.value;
    const start = starts[block.loc.start.line - 1]!;
    const headerEnd = lineEndAfter(text, at(block.key.loc.end));
    const section: Section = { kind: block.type === 'Table' ? 'table' : 'element', path, start, headerEnd, rowsEnd: headerEnd, rows: [] };
    let t = root;
    for (let i = 0; i < path.length - 1; i++) {
      const child = t.children.get(path[i]!);
      if (child === undefined) {
        const made: TableNode = { kind: 'table', def: 'implicit', children: new Map() };
        t.children.set(path[i]!, made);
        t = made;
      } else if (child.kind === 'table') t = child;
      else if (child.kind === 'array') t = child.elements[child.elements.length - 1]!;
      else fail(block.key.loc, `${name(path.slice(0, i + 1))} is a value, not a table`);
    }
    const last = path[path.length - 1]!;
    const existing = t.children.get(last);
    const table: TableNode = { kind: 'table', def: section.kind === 'table' ? 'header' : 'element', children: new Map(), section };
    if (section.kind === 'element') {
      if (existing === undefined) t.children.set(last, { kind: 'array', elements: [table] });
      else if (existing.kind === 'array') existing.elements.push(table);
      else fail(block.key.loc, `[[${name(path)}]]: ${name(path)} is already defined, not as an array of tables`);
    } else if (existing === undefined) {
      t.children.set(last, table);
    } else if (existing.kind === 'table' && existing.def === 'implicit') {
      existing.def = 'header';
      existing.section = section;
      sections.push(section);
      return { table: existing, section };
    } else {
      fail(block.key.loc, `table [${name(path)}] is defined twice`);
    }
    sections.push(section);
    return { table, section };
  };

  for (const block of cst) {
    if (block.type === 'KeyValue') addRow(root, rootSection, block);
    else if (block.type === 'Table' || block.type === 'TableArray') {
      const { table, section } = openSection(block);
      for (const item of block.items) if (item.type === 'KeyValue') addRow(table, section, item);
    }
  }
  return { text, root, sections, value, newline: text.includes('\r\n') ? '\r\n' : '\n' };
}

/** The node at an address, if the document has it. */
export function resolve(index: TomlIndex, address: Address): TomlNode | undefined {
  let node: TomlNode | undefined = index.root;
  for (const step of address) {
    if (node === undefined) return undefined;
    if (typeof step === 'number') node = node.kind === 'array' ? node.elements[step] : undefined;
    else node = node.kind === 'table' ? node.children.get(step) : undefined;
  }
  return node;
}

function subtreeSections(node: TomlNode, into: Section[] = []): Section[] {
  if (node.kind === 'array') for (const e of node.elements) subtreeSections(e, into);
  if (node.kind === 'table') {
    if (node.section && node.def !== 'root') into.push(node.section);
    for (const child of node.children.values()) subtreeSections(child, into);
  }
  return into.sort((a, b) => a.start - b.start);
}

function subtreeRows(node: TomlNode, into: Row[] = []): Row[] {
  if (node.kind === 'value') into.push(node.row);
  else if (node.kind === 'array') for (const e of node.elements) subtreeRows(e, into);
  else for (const child of node.children.values()) subtreeRows(child, into);
  return into;
}

const isBlank = (text: string, start: number): boolean => text.slice(start, lineEndAfter(text, start)).trim() === '';

/** Where a section starts with the comment lines right above its header, which belong to it. */
function ownedStart(index: TomlIndex, section: Section): { start: number; floor: number } {
  const { text } = index;
  const previous = index.sections.filter((s) => s.start < section.start).pop();
  const floor = previous ? previous.rowsEnd : 0;
  let start = section.start;
  while (start > floor) {
    const lineStart = text.lastIndexOf('\n', start - 2) + 1;
    if (lineStart < floor || !text.slice(lineStart, start).trim().startsWith('#')) break;
    start = lineStart;
  }
  return { start, floor };
}

/** What removing a section takes: its comment, header and rows, and the blank lines it stood between. */
function sectionRange(index: TomlIndex, section: Section): [number, number] {
  const { text } = index;
  const owned = ownedStart(index, section);
  const floor = owned.floor;
  let start = owned.start;
  let end = section.rowsEnd;
  if (start === 0 || isBlank(text, text.lastIndexOf('\n', start - 2) + 1)) {
    while (end < text.length && isBlank(text, end)) end = lineEndAfter(text, end);
  }
  // The last section of the file also takes the blank lines before it, so no blank line ends the file.
  if (end === text.length) {
    while (start > floor) {
      const lineStart = text.lastIndexOf('\n', start - 2) + 1;
      if (lineStart < floor || !isBlank(text, lineStart)) break;
      start = lineStart;
    }
  }
  return [start, end];
}

type Splice = [start: number, end: number, insert: string];

function applySplices(text: string, splices: Splice[]): string {
  let out = text;
  for (const [start, end, insert] of [...splices].sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + insert + out.slice(end);
  return out;
}

/** Removes what is at an address: a row, a whole table with its sections, an array element. */
export function removeAt(index: TomlIndex, address: Address): string {
  const node = resolve(index, address);
  if (node === undefined) return index.text;
  const sections = subtreeSections(node);
  const ranges = sections.map((s) => sectionRange(index, s));
  const inside = (offset: number) => ranges.some(([a, b]) => offset >= a && offset < b);
  for (const row of subtreeRows(node)) if (!inside(row.start)) ranges.push([row.start, row.end]);
  return applySplices(index.text, ranges.map(([a, b]) => [a, b, '']));
}

/** Replaces the value of a row, keeping its key, spacing and trailing comment. */
export function replaceAt(index: TomlIndex, address: Address, value: unknown): string {
  const node = resolve(index, address);
  if (node?.kind !== 'value') throw new Error(`${address.join('.')} is not a value`);
  return applySplices(index.text, [[node.row.valueStart, node.row.valueEnd, renderValue(value, node.row)]]);
}

function insertLines(index: TomlIndex, offset: number, lines: string, blankAround: boolean): string {
  const { text, newline } = index;
  let before = offset > 0 && text[offset - 1] !== '\n' ? newline : '';
  let after = '';
  if (blankAround) {
    if (offset > 0) before += newline;
    if (offset < text.length && !isBlank(text, offset)) after = newline;
  }
  return text.slice(0, offset) + before + lines.replace(/\n/g, newline) + after + text.slice(offset);
}

const indentOf = (text: string, row: Row | undefined): string => (row ? /^[ \t]*/.exec(text.slice(row.start))![0] : '');

/**
 * Adds a key that the document does not have: to the rows of its table when the value is a plain
 * value, else as new sections after the last section of the parent table. Missing parents are
 * made along the way.
 */
export function addAt(index: TomlIndex, address: Address, value: unknown): string {
  let parent: TableNode | ArrayNode = index.root;
  let depth = 0;
  for (; depth < address.length - 1; depth++) {
    const next = resolve(index, address.slice(0, depth + 1));
    if (next === undefined || next.kind === 'value') break;
    parent = next;
  }
  let wrapped = value;
  for (let i = address.length - 1; i > depth; i--) wrapped = { [address[i] as string]: wrapped };
  const key = address[depth]!;
  const path = address.slice(0, depth + 1).filter((s): s is string => typeof s === 'string');
  const { text } = index;

  if (parent.kind === 'array') {
    const last = subtreeSections(parent).pop()!;
    return insertLines(index, last.rowsEnd, renderSections(path, wrapped as Record<string, unknown>, true).join('\n'), true);
  }
  if (parent.def === 'dotted') {
    const section = parent.dottedIn!;
    const prefix = parent.dottedPrefix!;
    const rows = section.rows.filter((r) => prefix.every((s, i) => r.key[i] === s));
    const last = rows[rows.length - 1];
    const lines = renderDotted([...prefix, key as string], wrapped).map((l) => indentOf(text, last) + l + '\n');
    return insertLines(index, last ? last.end : section.rowsEnd, lines.join(''), false);
  }
  const parentPath = path.slice(0, -1);
  if (isTable(wrapped) || isTableArray(wrapped)) {
    const blocks = isTable(wrapped) ? renderSections(path, wrapped) : wrapped.flatMap((t) => renderSections(path, t, true));
    const anchor = parent.def === 'root' ? index.sections[index.sections.length - 1]! : subtreeSections(parent).pop();
    if (!anchor) throw new Error(`no section for ${renderKey(parentPath)}`);
    return insertLines(index, anchor.rowsEnd, blocks.join('\n'), anchor.kind !== 'root' || anchor.rows.length > 0);
  }
  const row = `${renderKey([key as string])} = ${renderValue(wrapped)}\n`;
  if (parent.def === 'implicit') {
    // The table exists only through its sub-tables: give it a header just before the first of them.
    const { start } = ownedStart(index, subtreeSections(parent)[0]!);
    return applySplices(text, [[start, start, `[${renderKey(parentPath)}]\n${row}\n`.replace(/\n/g, index.newline)]]);
  }
  const section = parent.section!;
  const last = section.rows[section.rows.length - 1];
  if (section.kind === 'root' && !last) {
    const firstHeader = index.sections[1];
    if (!firstHeader) return insertLines(index, text.length, row, false);
    const { start } = ownedStart(index, firstHeader);
    return applySplices(text, [[start, start, (row + '\n').replace(/\n/g, index.newline)]]);
  }
  return insertLines(index, section.rowsEnd, indentOf(text, last) + row, false);
}
