import { runCli } from './main';

/** Process entry for pilotctl: wires stdio, signals and the exit status. */
export async function cliMain(argv: string[]): Promise<void> {
  let interrupt: () => void = () => undefined;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  process.once('SIGINT', () => interrupt());
  process.once('SIGTERM', () => interrupt());
  const code = await runCli(argv, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    interrupted,
  });
  process.exitCode = code;
  // Long-lived handles (servers, sockets) are closed by the commands themselves; force exit only
  // for one-shot commands that may leave idle keep-alive sockets behind.
  await new Promise((r) => setImmediate(r));
  process.exit(code);
}
