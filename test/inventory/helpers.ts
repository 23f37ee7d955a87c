import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { InventoryError } from '../../src/inventory/errors.js';
import { loadInventory, type LoadOptions } from '../../src/inventory/load.js';
import type { Inventory } from '../../src/inventory/types.js';

const made: string[] = [];
after(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temp directory holding the given files (paths relative to it); `home/` is the fake home. */
export async function fixture(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'is-inventory-'));
  made.push(dir);
  await mkdir(path.join(dir, 'home'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  return dir;
}

/**
 * Loads hosts.toml from a fixture with the fixture as cwd (so messages say `hosts.toml:…`) and as
 * home, with no real ~/.ssh/config or environment leaking in.
 */
export async function load(files: Record<string, string>, options: FixtureOptions = {}): Promise<Inventory> {
  const dir = await fixture(files);
  return loadInventory(path.resolve(dir, options.path ?? '.'), {
    cwd: path.resolve(dir, options.cwd ?? '.'),
    home: path.resolve(dir, options.home ?? 'home'),
    env: { USER: 'tester', ...options.env },
  });
}

/** Load options whose paths are relative to the fixture directory. */
export type FixtureOptions = LoadOptions & { path?: string };

/** The message of the InventoryError that loading the files fails with. */
export async function loadError(files: Record<string, string>, options: FixtureOptions = {}): Promise<string> {
  try {
    await load(files, options);
  } catch (error) {
    assert.ok(error instanceof InventoryError, `expected an InventoryError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), 'message is one line');
    return error.message;
  }
  assert.fail('expected loading to fail');
}
