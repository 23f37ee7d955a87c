/**
 * What a local archive holds, read on the control machine in unarchive's prepare(): its format,
 * sha256 and members, with the content of small text files for the dry-run.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';

export type ArchiveFormat = 'zip' | 'tar.gz';

export interface ArchiveEntry {
  /** Relative, without "./" or a trailing slash. */
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** Four octal digits, where the archive records Unix permissions. */
  mode?: string;
  /** The bytes of small text files, so that a dry-run of a later edit can show the real diff. */
  content?: Buffer;
}

export interface ArchiveListing {
  format: ArchiveFormat;
  sha256: string;
  size: number;
  entries: ArchiveEntry[];
}

/** Small text files are kept whole; the budget bounds what a plan holds per host. */
export const KEEP_FILE_MAX = 64 * 1024;
const KEEP_TOTAL_MAX = 8 * 1024 * 1024;
/** What a single-pass (tar) read holds before choosing what to keep. */
const READ_TOTAL_MAX = 64 * 1024 * 1024;
const CONFIG = /\/conf\/|\.(toml|properties|xml|ya?ml|json|conf|cfg|ini|sh|env)$/i;

const isText = (data: Buffer): boolean => !data.subarray(0, 8192).includes(0);
const octal4 = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** A member name as it will land on disk, or an error for names that would escape the directory. */
function memberPath(name: string): string | undefined {
  if (name.startsWith('/')) throw new Error(`archive member ${JSON.stringify(name)} has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`archive member ${JSON.stringify(name)} climbs out with ".."`);
  return parts.length === 0 ? undefined : parts.join('/');
}

async function formatOf(file: string): Promise<ArchiveFormat> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
    if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  } finally {
    await handle.close();
  }
  throw new Error(`${file} is neither a zip nor a gzip-compressed tar archive`);
}

/**
 * Which files' content a plan keeps, within the budget: config files first (what later tasks edit),
 * shallow before deep, so that a pack with thousands of small files still keeps deployment.toml.
 */
function byPriority(a: ArchiveEntry, b: ArchiveEntry): number {
  const rank = (e: ArchiveEntry) => [CONFIG.test(e.path) ? 0 : 1, e.path.split('/').length] as const;
  const [ra, rb] = [rank(a), rank(b)];
  return ra[0] - rb[0] || ra[1] - rb[1] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

const candidate = (e: ArchiveEntry): boolean => e.type === 'file' && e.size <= KEEP_FILE_MAX;

/** Drops the content of all but the first files by priority that fit the budget. */
function trimToBudget(entries: readonly ArchiveEntry[]): void {
  let left = KEEP_TOTAL_MAX;
  for (const e of entries.filter((x) => x.content !== undefined).sort(byPriority)) {
    if (e.content!.length <= left) left -= e.content!.length;
    else delete e.content;
  }
}

class Keeper {
  #left = READ_TOTAL_MAX;
  wants(size: number): boolean {
    return size <= KEEP_FILE_MAX && size <= this.#left;
  }
  keep(entry: ArchiveEntry, data: Buffer): void {
    if (!isText(data) || data.length > this.#left) return;
    this.#left -= data.length;
    entry.content = data;
  }
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function zipEntries(file: string): Promise<ArchiveEntry[]> {
  const zip = await yauzl.openPromise(file, { strictFileNames: true, autoClose: false });
  const entries: ArchiveEntry[] = [];
  const raw = new Map<ArchiveEntry, yauzl.Entry>();
  try {
    for await (const e of zip.eachEntry()) {
      const path = memberPath(e.fileName);
      if (path === undefined) continue;
      const unix = e.versionMadeBy >> 8 === 3 ? e.externalFileAttributes >>> 16 : 0;
      const kind = unix & 0o170000;
      const type = e.fileName.endsWith('/') || kind === 0o040000 ? 'directory' : kind === 0 || kind === 0o100000 ? 'file' : 'other';
      const entry: ArchiveEntry = { path, type, size: type === 'file' ? e.uncompressedSize : 0, ...(unix ? { mode: octal4(unix) } : {}) };
      entries.push(entry);
      if (candidate(entry) && e.canDecodeFileData()) raw.set(entry, e);
    }
    // The central directory lists every member up front: only the files kept are inflated.
    let left = KEEP_TOTAL_MAX;
    for (const entry of [...raw.keys()].sort(byPriority)) {
      if (entry.size > left) continue;
      const parts: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(raw.get(entry)!)) parts.push(chunk as Buffer);
      const data = Buffer.concat(parts);
      if (!isText(data)) continue;
      entry.content = data;
      left -= data.length;
    }
  } finally {
    zip.close();
  }
  return entries;
}

const cstr = (h: Buffer, at: number, length: number): string => {
  const field = h.subarray(at, at + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
};

function number(h: Buffer, at: number, length: number): number {
  // GNU base-256 for values that do not fit the octal field (members over 8 GiB).
  if ((h[at] ?? 0) & 0x80) return h.subarray(at + 1, at + length).reduce((n, byte) => n * 256 + byte, (h[at]! & 0x7f));
  const text = h.toString('latin1', at, at + length).replace(/[\0 ]+/g, ' ').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString('latin1', at, space));
    if (space < 0 || !(length > 0)) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** A streaming reader of (ustar, GNU and pax) tar: headers, and the data of the members it keeps. */
function tarReader(keeper: Keeper, entries: ArchiveEntry[]): (chunk: Buffer) => void {
  let header = Buffer.alloc(0);
  let skip = 0; // data and padding of the current member still to pass
  let take = 0; // of which bytes still to collect
  let collected: Buffer[] = [];
  let onData: ((data: Buffer) => void) | undefined;
  let longName: string | undefined;
  let pax = new Map<string, string>();
  let ended = false;

  function onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      ended = true;
      return;
    }
    const sum = h.reduce((n, b, i) => n + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (sum !== number(h, 148, 8)) throw new Error('not a tar archive (bad header checksum)');
    const flag = h[156] === 0 ? '0' : String.fromCharCode(h[156]!);
    const size = flag === 'x' || flag === 'L' ? number(h, 124, 12) : Number(pax.get('size') ?? number(h, 124, 12));
    skip = Math.ceil(size / 512) * 512;
    take = 0;
    onData = undefined;
    if (flag === 'L' || flag === 'x') {
      take = size;
      onData = (data) => (flag === 'L' ? (longName = cstr(data, 0, data.length)) : (pax = paxRecords(data)));
      return;
    }
    if (flag === 'g' || flag === 'K') return;
    const prefix = h.toString('latin1', 257, 263) === 'ustar\0' ? cstr(h, 345, 155) : '';
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    longName = undefined;
    pax = new Map();
    const path = memberPath(name);
    if (path === undefined) return;
    const type = flag === '5' ? 'directory' : flag === '0' || flag === '7' ? 'file' : 'other';
    const entry: ArchiveEntry = { path, type, size: type === 'file' ? size : 0, mode: octal4(number(h, 100, 8)) };
    entries.push(entry);
    if (type === 'file' && keeper.wants(size)) {
      take = size;
      onData = (data) => keeper.keep(entry, data);
    }
  }

  return (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && !ended) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        if (take > 0) {
          const part = chunk.subarray(at, at + Math.min(n, take));
          collected.push(part);
          take -= part.length;
          if (take === 0) {
            onData?.(Buffer.concat(collected));
            collected = [];
          }
        }
        skip -= n;
        at += n;
        continue;
      }
      const need = 512 - header.length;
      header = Buffer.concat([header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (header.length === 512) {
        const h = header;
        header = Buffer.alloc(0);
        onHeader(h);
        if (skip === 0 && take === 0 && onData) onData(Buffer.alloc(0));
      }
    }
  };
}

async function tarGzEntries(file: string): Promise<{ sha256: string; size: number; entries: ArchiveEntry[] }> {
  const hash = createHash('sha256');
  let size = 0;
  const entries: ArchiveEntry[] = [];
  const push = tarReader(new Keeper(), entries);
  // One pass over hundreds of MB: hashed on the way into gunzip.
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // A member refused by name stops the read; the pipeline then reports only that it was cut short.
  let refused: unknown;
  try {
    await pipeline(createReadStream(file), hasher, createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        try {
          push(chunk);
        } catch (error) {
          refused = error;
          throw error;
        }
      }
    });
  } catch (error) {
    throw refused ?? error;
  }
  trimToBudget(entries);
  return { sha256: hash.digest('hex'), size, entries };
}

/** Reads a local archive: its format, sha256, size and members (streamed, never whole in memory). */
export async function readArchive(file: string): Promise<ArchiveListing> {
  const format = await formatOf(file);
  if (format === 'zip') {
    const [{ sha256, size }, entries] = await Promise.all([hashFile(file), zipEntries(file)]);
    return { format, sha256, size, entries };
  }
  return { format, ...(await tarGzEntries(file)) };
}

/**
 * The members as they land under dest with the first `count` path components removed. They must
 * share those components (one top directory, say): several would be merged, which is rarely meant.
 */
export function stripComponents(entries: readonly ArchiveEntry[], count: number): { entries: ArchiveEntry[]; prefix?: string } {
  if (count === 0) return { entries: [...entries] };
  const prefixes = new Set<string>();
  const kept: ArchiveEntry[] = [];
  for (const entry of entries) {
    const parts = entry.path.split('/');
    if (parts.length <= count) {
      if (entry.type !== 'directory') throw new Error(`stripComponents ${count} would drop ${entry.path}`);
      continue;
    }
    prefixes.add(parts.slice(0, count).join('/'));
    kept.push({ ...entry, path: parts.slice(count).join('/') });
  }
  if (prefixes.size > 1) {
    throw new Error(`stripComponents ${count} would merge ${[...prefixes].slice(0, 3).map((p) => `${p}/`).join(', ')}${prefixes.size > 3 ? ', …' : ''}`);
  }
  const [prefix] = prefixes;
  return { entries: kept, ...(prefix !== undefined ? { prefix } : {}) };
}
