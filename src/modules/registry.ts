import type { ModuleDefinition } from './define.js';
import { commandModule } from './command.js';
import { copyModule } from './copy.js';
import { databaseModule } from './database.js';
import { fileModule } from './file.js';
import { flushHandlersModule } from './flush-handlers.js';
import { hostsEntryModule } from './hosts-entry.js';
import { lineModule } from './line.js';
import { packagesModule } from './packages.js';
import { serviceModule } from './service.js';
import { sqlScriptsModule } from './sql-scripts.js';
import { tomlModule } from './toml.js';
import { unarchiveModule } from './unarchive.js';
import { waitForModule } from './wait-for.js';
import { x509Module } from './x509.js';
import { templateModule } from './template.js';

/** Every module by the name its tasks carry. Adding a module means adding it here. */
export const MODULES: Readonly<Record<string, ModuleDefinition>> = Object.freeze({
  command: commandModule,
  copy: copyModule,
  database: databaseModule,
  file: fileModule,
  flushHandlers: flushHandlersModule,
  hostsEntry: hostsEntryModule,
  line: lineModule,
  packages: packagesModule,
  service: serviceModule,
  sqlScripts: sqlScriptsModule,
  toml: tomlModule,
  unarchive: unarchiveModule,
  waitFor: waitForModule,
  x509: x509Module,
  template: templateModule,
});
