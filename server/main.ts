// Entry point: reads the command line, starts the daemon, and stops it cleanly on SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { ConfigError, StartupError } from './core/errors.ts';
import { SystemdNotifier } from './core/sd-notify.ts';
import { createUserOffline, type Daemon, startDaemon } from './daemon.ts';

const HELP = `Usage: brim [options]
       brim [--data DIR] [--config FILE] user add NAME [--role admin|operator|viewer]

  --config FILE   TOML config file (default: DATA/config/brim.toml if present, else built-in defaults)
  --data DIR      data folder with config/ gcodes/ logs/ database/ (default: ./data)
  --port N        port for the API, websocket and UI (overrides [server] port; default 7125)
  --role ROLE     with "user add": the new user's role (default admin); the password is read from
                  the BRIM_PASSWORD environment variable or the first line of standard input
  --help          show this help
`;

/** SIGTERM must end the process within this long even if a component hangs in stop(). */
const STOP_DEADLINE_MS = 5000;

async function main(): Promise<void> {
  let values: { config?: string; data?: string; port?: string; role?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        port: { type: 'string' },
        role: { type: 'string' },
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`brim: ${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals.length > 0) {
    const [command, action, name] = positionals;
    if (command !== 'user' || action !== 'add' || !name || positionals.length > 3) {
      process.stderr.write(`brim: unknown command "${positionals.join(' ')}"\n\n${HELP}`);
      process.exit(2);
    }
    process.exit(await addUserFromCommandLine(name, values));
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`brim: --port must be an integer from 0 to 65535, got "${values.port}"\n`);
      process.exit(2);
    }
  }

  const notifier = new SystemdNotifier();
  const options = { dataDir: values.data ?? 'data', configFile: values.config, port };
  let daemon: Daemon;
  let restarting = false;
  const start = async (): Promise<Daemon> => {
    try {
      return await startDaemon({ ...options, onRestartRequested: () => void restart() });
    } catch (error) {
      if (error instanceof ConfigError || error instanceof StartupError) {
        process.stderr.write(`brim: cannot start:\n  ${error.message.split('\n').join('\n  ')}\n`);
        process.exit(1);
      }
      throw error;
    }
  };
  // server.restart: every component stops in reverse order, then the config is read and all start again.
  const restart = async () => {
    if (restarting) return;
    restarting = true;
    daemon.logger.log.info('restart requested');
    await daemon.stop();
    daemon = await start();
    restarting = false;
  };
  daemon = await start();
  notifier.ready(`listening on port ${daemon.kernel.instance('server').port()}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // A second signal means the user wants out now.
      process.exit(130);
    }
    stopping = true;
    daemon.logger.log.info(`${signal} received, stopping`);
    notifier.stopping();
    const deadline = setTimeout(() => {
      daemon.logger.log.error('components did not stop within 5 s; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    daemon.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`brim: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function addUserFromCommandLine(
  username: string,
  values: { config?: string; data?: string; role?: string },
): Promise<number> {
  const role = values.role ?? 'admin';
  if (role !== 'admin' && role !== 'operator' && role !== 'viewer') {
    process.stderr.write(`brim: --role must be admin, operator or viewer, got "${role}"\n`);
    return 2;
  }
  const password = process.env.BRIM_PASSWORD ?? (await firstLineOfStdin());
  try {
    await createUserOffline(
      { dataDir: values.data ?? 'data', configFile: values.config },
      username,
      password,
      role,
    );
    process.stdout.write(`brim: user "${username}" added with role ${role}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`brim: cannot add user: ${(error as Error).message}\n`);
    return 1;
  }
}

function firstLineOfStdin(): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) process.stdin.pause();
      if (text.includes('\n')) resolve(text.split('\n')[0] ?? '');
    });
    process.stdin.on('end', () => resolve(text.split('\n')[0] ?? ''));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`brim: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
