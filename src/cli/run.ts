import { loadInventory } from '../inventory/load.js';
import { loadPlaybook } from '../loading/playbook.js';
import { prepareRun } from '../engine/prepare.js';
import { runPlays } from '../engine/run.js';
import { UsageError } from '../engine/errors.js';
import { parseExtraVars } from '../engine/vars.js';
import { createOutput } from '../output/index.js';
import type { ExitCode } from './exit.js';

export interface RunArgs {
  playbook: string;
  inventory: string;
  dryRun: boolean;
  diff: boolean;
  limit?: string;
  forks?: number;
  extraVars: string[];
  tags?: string;
  skipTags?: string;
  json: boolean;
  typecheck: boolean;
  verbose: boolean;
}

const MAX_DEFAULT_FORKS = 50;

const list = (text?: string) => (text ? text.split(',').map((t) => t.trim()).filter(Boolean) : undefined);

export async function runCommand(args: RunArgs): Promise<ExitCode> {
  if (args.forks !== undefined && !(Number.isInteger(args.forks) && args.forks > 0)) {
    throw new UsageError(`--forks must be a positive integer, not ${args.forks}`);
  }
  let extraVars: Record<string, unknown>;
  try {
    extraVars = parseExtraVars(args.extraVars);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const inventory = await loadInventory(args.inventory);
  const playbook = await loadPlaybook(args.playbook, { typecheck: args.typecheck });
  const plays = await prepareRun({
    playbook,
    playbookFile: args.playbook,
    inventory,
    ...(args.limit ? { limit: args.limit } : {}),
    extraVars,
    ...(list(args.tags) ? { tags: list(args.tags) } : {}),
    ...(list(args.skipTags) ? { skipTags: list(args.skipTags) } : {}),
  });
  const hostCount = new Set(plays.flatMap((p) => p.hosts.map((h) => h.host.name))).size;
  if (hostCount === 0) throw new UsageError(`no hosts to run on${args.limit ? ` (--limit ${args.limit} matches none of the plays' hosts)` : ''}`);
  const output = createOutput({
    json: args.json,
    verbose: args.verbose,
    diff: args.diff || args.dryRun,
    isTTY: Boolean(process.stdout.isTTY),
    ci: Boolean(process.env.CI),
  });
  try {
    const result = await runPlays({
      playbookName: playbook.name,
      plays,
      dryRun: args.dryRun,
      diff: args.diff,
      forks: args.forks ?? Math.min(hostCount, MAX_DEFAULT_FORKS),
      secrets: inventory.secrets,
      listener: output.listener,
    });
    return result.ok ? 0 : 1;
  } finally {
    // The live view holds back stdout and stderr while it draws; an error must not be lost in it.
    await output.done();
  }
}
