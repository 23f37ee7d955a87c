/**
 * Finds where a key or array element sits in TOML text. @iarna/toml gives values without positions, and
 * semantic errors (an unknown key, a wrong type) need a line to point at. This scanner reads only as
 * much TOML as it takes to follow headers, keys, inline tables and arrays; it runs on text the parser
 * already accepted, and if it trips over anything it keeps what it found so far.
 */

export interface Position {
  line: number;
  column: number;
}

export type Segment = string | number;

const keyOf = (path: readonly Segment[]): string => JSON.stringify(path);
const BARE = /[A-Za-z0-9_-]/;

export class TomlLocator {
  readonly #src: string;
  readonly #lineStarts: number[] = [0];
  readonly #positions = new Map<string, Position>();
  #i = 0;

  constructor(source: string) {
    this.#src = source;
    for (let i = 0; i < source.length; i++) if (source[i] === '\n') this.#lineStarts.push(i + 1);
    try {
      this.#document();
    } catch {
      // Positions found before the scanner got lost are still right; later lookups fall back to parents.
    }
  }

  /** Position of the key (or array element) at path, else of its nearest recorded parent. */
  find(path: readonly Segment[]): Position | undefined {
    for (let n = path.length; n > 0; n--) {
      const found = this.#positions.get(keyOf(path.slice(0, n)));
      if (found) return found;
    }
    return undefined;
  }

  #position(index: number): Position {
    let low = 0;
    let high = this.#lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.#lineStarts[mid] ?? 0) <= index) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: index - (this.#lineStarts[low] ?? 0) + 1 };
  }

  #record(path: readonly Segment[], index: number): void {
    const key = keyOf(path);
    if (!this.#positions.has(key)) this.#positions.set(key, this.#position(index));
  }

  #document(): void {
    let table: Segment[] = [];
    const arrayCounts = new Map<string, number>();
    const src = this.#src;
    for (;;) {
      this.#skip(true);
      if (this.#i >= src.length) return;
      if (src[this.#i] !== '[') {
        this.#keyValue(table);
        continue;
      }
      const start = this.#i;
      const isArray = src[this.#i + 1] === '[';
      this.#i += isArray ? 2 : 1;
      const keys = this.#key();
      this.#skip(false);
      this.#i += isArray ? 2 : 1;
      table = [];
      keys.forEach((key, n) => {
        table.push(key.name);
        const id = keyOf(table);
        const count = arrayCounts.get(id);
        if (isArray && n === keys.length - 1) {
          arrayCounts.set(id, (count ?? 0) + 1);
          table.push(count ?? 0);
        } else if (count !== undefined) {
          table.push(count - 1);
        }
        this.#record(table, start);
      });
    }
  }

  #keyValue(base: readonly Segment[]): void {
    const path = [...base];
    for (const key of this.#key()) {
      path.push(key.name);
      this.#record(path, key.index);
    }
    this.#skip(false);
    if (this.#src[this.#i] !== '=') throw new Error('expected =');
    this.#i++;
    this.#skip(false);
    this.#value(path);
  }

  #key(): { name: string; index: number }[] {
    const src = this.#src;
    const keys: { name: string; index: number }[] = [];
    for (;;) {
      this.#skip(false);
      const index = this.#i;
      let name: string;
      if (src[index] === '"' || src[index] === "'") {
        const end = this.#skipString();
        const raw = src.slice(index, end);
        name = raw.startsWith("'") ? raw.slice(1, -1) : decodeBasic(raw);
      } else {
        while (this.#i < src.length && BARE.test(src[this.#i] ?? '')) this.#i++;
        name = src.slice(index, this.#i);
        if (name === '') throw new Error('expected a key');
      }
      keys.push({ name, index });
      this.#skip(false);
      if (src[this.#i] !== '.') return keys;
      this.#i++;
    }
  }

  #value(path: Segment[]): void {
    const src = this.#src;
    const c = src[this.#i];
    if (c === '"' || c === "'") {
      this.#skipString();
    } else if (c === '{') {
      this.#i++;
      for (;;) {
        this.#skip(true);
        if (src[this.#i] === '}' || this.#i >= src.length) break;
        this.#keyValue(path);
        this.#skip(true);
        if (src[this.#i] === ',') this.#i++;
      }
      this.#i++;
    } else if (c === '[') {
      this.#i++;
      for (let n = 0; ; n++) {
        this.#skip(true);
        if (src[this.#i] === ']' || this.#i >= src.length) break;
        const element = [...path, n];
        this.#record(element, this.#i);
        this.#value(element);
        this.#skip(true);
        if (src[this.#i] === ',') this.#i++;
      }
      this.#i++;
    } else {
      const start = this.#i;
      while (this.#i < src.length && !',]}\n#'.includes(src[this.#i] ?? '')) this.#i++;
      if (this.#i === start) throw new Error('expected a value');
    }
  }

  /** Moves past the string starting at the cursor and returns the index after it. */
  #skipString(): number {
    const src = this.#src;
    const quote = src[this.#i] ?? '';
    const triple = quote.repeat(3);
    const multi = src.startsWith(triple, this.#i);
    this.#i += multi ? 3 : 1;
    while (this.#i < src.length) {
      if (quote === '"' && src[this.#i] === '\\') {
        this.#i += 2;
      } else if (multi ? src.startsWith(triple, this.#i) : src[this.#i] === quote) {
        this.#i += multi ? 3 : 1;
        // A multi-line string may end with up to two extra quotes that belong to its content.
        while (multi && src[this.#i] === quote) this.#i++;
        return this.#i;
      } else {
        this.#i++;
      }
    }
    throw new Error('unterminated string');
  }

  #skip(newlines: boolean): void {
    const src = this.#src;
    while (this.#i < src.length) {
      const c = src[this.#i];
      if (c === ' ' || c === '\t') this.#i++;
      else if (newlines && (c === '\n' || c === '\r')) this.#i++;
      else if (newlines && c === '#') while (this.#i < src.length && src[this.#i] !== '\n') this.#i++;
      else return;
    }
  }
}

function decodeBasic(raw: string): string {
  try {
    return JSON.parse(raw.replace(/\\U([0-9a-fA-F]{8})/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))) as string;
  } catch {
    return raw.slice(1, -1);
  }
}
