import yargs from 'yargs';
import { UsageError } from '../engine/errors.js';
import { exitCodeFor, type ExitCode } from './exit.js';
import { runCommand } from './run.js';
import { inventoryCommand } from './inventory.js';

const EXAMPLES: [string, string][] = [
  ['$0 run playbooks/cluster.ts -i inventory/prod', 'apply a playbook to every host'],
  ['$0 run playbooks/cluster.ts -i inventory/prod --dry-run', 'show every change it would make, with diffs; change nothing'],
  ['$0 run playbooks/cluster.ts -i inventory/prod --limit is1,lb', 'only these hosts (names or groups; !name excludes)'],
  ['$0 run playbooks/cluster.ts -i inventory/prod -e is_hostname=id.example.com', 'override a var'],
  ['$0 inventory -i inventory/prod --list', 'hosts, groups and merged vars (secrets masked)'],
];

/** Parses the command line and runs it; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<ExitCode> {
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    let code: ExitCode = 0;
    await yargs([...argv])
      .scriptName('is-provision')
      .usage('$0 <command> [options]')
      .command(
        'run <playbook>',
        'run a playbook against an inventory',
        (y) =>
          y
            .positional('playbook', { type: 'string', demandOption: true, describe: 'the playbook file (.ts)' })
            .option('inventory', { alias: 'i', type: 'string', demandOption: true, describe: 'a directory holding hosts.toml, or a .toml file' })
            .option('dry-run', { alias: 'check', type: 'boolean', default: false, describe: 'decide and show every change with diffs; change nothing' })
            .option('diff', { type: 'boolean', default: false, describe: 'show unified diffs of file changes (implied by --dry-run)' })
            .option('limit', { alias: 'l', type: 'string', describe: 'host or group names, comma-separated; !name excludes' })
            .option('forks', { alias: 'f', type: 'number', describe: 'hosts at once (default: all hosts, up to 50)' })
            .option('extra-vars', { alias: 'e', type: 'string', array: true, default: [], describe: 'key=value, highest precedence (repeatable)' })
            .option('tags', { type: 'string', describe: 'only tasks with one of these tags (comma-separated)' })
            .option('skip-tags', { type: 'string', describe: 'skip tasks with any of these tags (comma-separated)' })
            .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line on stdout' })
            .option('typecheck', { type: 'boolean', default: true, describe: 'type-check the playbook first (--no-typecheck skips it)' })
            .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show commands and their output (secrets masked)' }),
        async (args) => {
          code = await runCommand({
            playbook: args.playbook!,
            inventory: args.inventory,
            dryRun: args['dry-run'],
            diff: args.diff,
            limit: args.limit,
            forks: args.forks,
            extraVars: args['extra-vars'].map(String),
            tags: args.tags,
            skipTags: args['skip-tags'],
            json: args.json,
            typecheck: args.typecheck,
            verbose: args.verbose,
          });
        },
      )
      .command(
        'inventory',
        'show the inventory',
        (y) =>
          y
            .option('inventory', { alias: 'i', type: 'string', demandOption: true, describe: 'a directory holding hosts.toml, or a .toml file' })
            .option('list', { type: 'boolean', default: true, describe: 'hosts, groups and merged vars as JSON (secrets masked)' })
            .option('host', { type: 'string', describe: 'only this host' }),
        async (args) => {
          code = await inventoryCommand({ inventory: args.inventory, host: args.host });
        },
      )
      .example(EXAMPLES)
      .demandCommand(1, 'name a command: run or inventory')
      .strict()
      .help()
      .alias('h', 'help')
      .version()
      .exitProcess(false)
      .wrap(Math.min(110, process.stdout.columns || 100))
      .fail((message, error) => {
        if (error) throw error;
        throw new UsageError(`${message} (see is-provision --help)`);
      })
      .parseAsync();
    return code;
  } catch (error) {
    return exitCodeFor(error, verbose);
  }
}
