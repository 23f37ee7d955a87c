/**
 * `flushHandlers`: runs the handlers notified so far at this point of the play, rather than at its
 * end (Ansible's `meta: flush_handlers`). Takes no options besides `name`.
 *
 * Use it where a later task needs what a handler does: restart a node after its config changed
 * before checking that it serves.
 *
 * @example
 * toml({ path: conf, set: { 'server.offset': 1 }, notify: 'restart node2' }), flushHandlers(), service({ ... state: 'started' })
 */
import { buildTask } from '../playbook/define.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { noop } from './decision.js';
import { defineModule } from './define.js';

export const FLUSH_HANDLERS = 'flushHandlers';

type NoOptions = Record<string, never>;

/** The engine runs the notified handlers where this task stands; the module itself never decides. */
export const flushHandlersModule = defineModule<NoOptions>({
  name: FLUSH_HANDLERS,
  schema: {},
  describe: () => 'flush handlers',
  facts: () => ({}),
  decide: () => noop('handlers run here'),
});

/** Runs the handlers notified so far, here. See the module's TSDoc above. */
export function flushHandlers(options: Pick<CommonOptions, 'name'> = {}): Task<NoOptions> {
  return buildTask<NoOptions>(FLUSH_HANDLERS, {}, options as NoOptions & CommonOptions);
}
