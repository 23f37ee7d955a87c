import { definePlaybook, command, file, copy, template, line, hostsEntry } from 'is-provision';

/** A small app on every host of the `app` group: the runner's example, run by the tests twice. */
export default definePlaybook({
  name: 'example',
  vars: { greeting: 'hello' },
  plays: [
    {
      name: 'app hosts',
      hosts: 'app',
      vars: { port: 8080 },
      tasks: ({ host, vars, inventory }) => [
        file({ name: 'app dir', path: '/opt/app', state: 'directory', mode: '0755' }),
        copy({ dest: '/opt/app/motd', content: `${vars.greeting} from ${host.name}\n`, mode: '0644', notify: 'reload app' }),
        template({
          src: 'templates/app.conf.hbs',
          dest: '/opt/app/app.conf',
          vars: { port: vars.port, peers: inventory.hosts('app').map((h) => h.address) },
          notify: 'reload app',
        }),
        line({ path: '/opt/app/env', line: 'MODE=prod', regexp: '^MODE=', create: true }),
        hostsEntry({ ip: '127.0.0.1', names: ['app.local'] }),
        command({ name: 'init', cmd: 'touch /opt/app/.init', creates: '/opt/app/.init' }),
      ],
      handlers: [command({ name: 'reload app', cmd: 'date >> /opt/app/reloads' })],
    },
  ],
});
