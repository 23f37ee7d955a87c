/** The authoring API: what playbooks import from 'is-provision'. */
export { definePlaybook } from './playbook/define.js';
export type { CommonOptions, Play, Playbook, Task, TaskContext, HostView, InventoryView } from './playbook/types.js';
export { command, type CommandOptions } from './modules/command.js';
export { copy, type CopyOptions } from './modules/copy.js';
export { file, type FileOptions, type FileState } from './modules/file.js';
export { template, type TemplateOptions } from './modules/template.js';
export { line, type LineOptions } from './modules/line.js';
export { hostsEntry, type HostsEntryOptions } from './modules/hosts-entry.js';
export { flushHandlers } from './modules/flush-handlers.js';
export { packages, type PackagesOptions, type PackageState } from './modules/packages.js';
export { service, type ServiceOptions, type ServiceState } from './modules/service.js';
export { toml, type TomlOptions } from './modules/toml.js';
export { database, type DatabaseOptions } from './modules/database.js';
export { sqlScripts, type SqlScriptsOptions } from './modules/sql-scripts.js';
export { x509, type X509Options } from './modules/x509.js';
export type { Secret } from './shell/secret.js';
export type { Vars, VarValue } from './inventory/types.js';
