import { runCli } from './main';

/** Process entry for pilotctl: wires stdio, signals and the exit status. */
export async function cliMain(argv: string[]): Promise<void> {
  let interrupt: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  // The first Ctrl-C or SIGTERM ends pilotctl at once (status 130 / 143), unless the command stops by
  // itself on it: one that watches ctx.interrupted (ping's summary, listen, backbone, console) or
  // installed its own handler (the foreground daemon's graceful stop). A second signal always ends it.
  let watched = false;
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    const own = process.listenerCount(sig) > 1;
    if (signalled || (!watched && !own)) process.exit(sig === 'SIGINT' ? 130 : 143);
    signalled = true;
    interrupt();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    interrupted,
    watchesInterrupt: () => {
      watched = true;
    },
  });
  process.exitCode = code;
  // Long-lived handles (servers, sockets) are closed by the commands themselves; force exit only
  // for one-shot commands that may leave idle keep-alive sockets behind.
  await new Promise((r) => setImmediate(r));
  process.exit(code);
}
