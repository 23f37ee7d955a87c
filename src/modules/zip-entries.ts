import { openPromise, type Entry, type ZipFile } from 'yauzl';

async function readEntry(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads the named entries of a local zip file in one pass over its central directory, without
 * unpacking the rest (an IS pack is several hundred MB). Throws naming every entry that is missing.
 */
export async function readZipEntries(archive: string, names: readonly string[]): Promise<Map<string, Buffer>> {
  const wanted = new Set(names);
  const found = new Map<string, Buffer>();
  // autoClose off: it would close the file as soon as the last entry is listed, under an open stream.
  const zip = await openPromise(archive, { lazyEntries: true, autoClose: false, strictFileNames: false });
  try {
    for await (const entry of zip.eachEntry()) {
      if (!wanted.has(entry.fileName) || found.has(entry.fileName)) continue;
      found.set(entry.fileName, await readEntry(zip, entry));
      if (found.size === wanted.size) break;
    }
  } finally {
    zip.close();
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) throw new Error(`${archive} has no entry ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  return found;
}
