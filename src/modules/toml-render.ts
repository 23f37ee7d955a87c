/**
 * Key paths and values as TOML text, for the format-preserving edits in toml-edit.ts: parsing a
 * dotted key path, and rendering keys, strings, values, tables and dotted rows.
 */
import { isSecret } from '../shell/secret.js';
import type { KeyPath, Row } from './toml-edit.js';

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Splits `a."b.c".'d'` into its segments, as TOML reads a dotted key. */
export function parseKeyPath(text: string): string[] {
  const segments: string[] = [];
  let i = 0;
  const skip = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  for (;;) {
    skip();
    const quote = text[i];
    if (quote === '"' || quote === "'") {
      const close = quote === "'" ? text.indexOf("'", i + 1) : closingQuote(text, i + 1);
      if (close < 0) throw new Error(`unterminated quoted segment in key ${JSON.stringify(text)}`);
      const body = text.slice(i + 1, close);
      if (/[\n\r]/.test(body)) throw new Error('a key segment cannot hold a newline');
      segments.push(quote === "'" ? body : (JSON.parse(`"${body.replace(/\\U([0-9A-Fa-f]{8})/g, (_, h: string) => escapeCodePoint(h))}"`) as string));
      i = close + 1;
    } else {
      const bare = /^[A-Za-z0-9_-]+/.exec(text.slice(i))?.[0];
      if (!bare) throw new Error(`key ${JSON.stringify(text)} has an empty or invalid segment at column ${i + 1} (quote segments with other characters: '"a.b".c')`);
      segments.push(bare);
      i += bare.length;
    }
    skip();
    if (i === text.length) return segments;
    if (text[i] !== '.') throw new Error(`unexpected ${JSON.stringify(text[i])} in key ${JSON.stringify(text)} at column ${i + 1}`);
    i++;
  }
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function escapeCodePoint(hex: string): string {
  const char = String.fromCodePoint(parseInt(hex, 16));
  return [...char].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}

export const renderKey = (key: KeyPath): string => key.map((s) => (BARE_KEY.test(s) ? s : renderString(s))).join('.');

/** A TOML basic string; JSON's escapes are TOML's, except that TOML wants DEL escaped too. */
export function renderString(value: string): string {
  return JSON.stringify(value).replace(/\x7f/g, '\\u007f');
}

export const isTable = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !isSecret(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/** A non-empty array of tables: written as `[[key]]` sections. */
export const isTableArray = (v: unknown): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every(isTable);

/** A value written inline; `old` is what it replaces, so a float stays a float and a literal string literal. */
export function renderValue(value: unknown, old?: Pick<Row, 'valueType' | 'valueRaw'>): string {
  if (isSecret(value)) return renderString(value.reveal());
  if (typeof value === 'string') {
    const literal = old?.valueType === 'String' && old.valueRaw?.startsWith("'") && !old.valueRaw.startsWith("'''");
    return literal && !/['\x00-\x1f\x7f]/.test(value) ? `'${value}'` : renderString(value);
  }
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    if (Number.isInteger(value)) return old?.valueType === 'Float' ? value.toFixed(1) : String(value);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  // toml-patch's own date classes print themselves as TOML; a plain Date is an offset date-time.
  if (value instanceof Date) return value.constructor === Date ? value.toISOString().replace(/\.000Z$/, 'Z') : value.toISOString();
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[${value.map((v) => renderValue(v)).join(', ')}]`;
  if (isTable(value)) {
    const entries = Object.entries(value);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${renderKey([k])} = ${renderValue(v)}`).join(', ')} }`;
  }
  throw new Error(`cannot write a ${value === null ? 'null' : typeof value} as a TOML value`);
}

/** `[path]` sections (and sub-sections) holding a table; a table with only sub-tables gets no header of its own. */
export function renderSections(path: KeyPath, table: Record<string, unknown>, element = false): string[] {
  const entries = Object.entries(table);
  const leaves = entries.filter(([, v]) => !isTable(v) && !isTableArray(v));
  const blocks: string[] = [];
  if (element || leaves.length > 0 || entries.length === 0) {
    const header = element ? `[[${renderKey(path)}]]` : `[${renderKey(path)}]`;
    blocks.push([header, ...leaves.map(([k, v]) => `${renderKey([k])} = ${renderValue(v)}`)].join('\n') + '\n');
  }
  for (const [k, v] of entries) {
    if (isTable(v)) blocks.push(...renderSections([...path, k], v));
    else if (isTableArray(v)) for (const item of v) blocks.push(...renderSections([...path, k], item, true));
  }
  return blocks;
}

/** Rows with dotted keys for a value under a table that is itself written with dotted keys. */
export function renderDotted(key: KeyPath, value: unknown): string[] {
  if (isTable(value) && Object.keys(value).length > 0) return Object.entries(value).flatMap(([k, v]) => renderDotted([...key, k], v));
  return [`${renderKey(key)} = ${renderValue(value)}`];
}
