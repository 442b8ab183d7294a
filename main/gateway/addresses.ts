/**
 * Local addresses for the gateway's mapped IPs: each is added to the loopback device as a /32
 * (`ip addr add 10.4.0.1/32 dev lo`, as the reference does on Linux), so a TCP listener can bind it
 * and local programs reach it without routes. Needs root (CAP_NET_ADMIN).
 *
 * `add` reports whether this call created the address: one that was already there (someone else's,
 * or a leftover the state file did not know about) is used but never removed by us.
 */
import { execFile } from 'node:child_process';
import { PilotError } from '../../shared/errors';

export interface AddressDriver {
  /** Adds `ip`; true when it was added by this call, false when it was present already. */
  add(ip: string): Promise<boolean>;
  /** Removes `ip`; true when it was there. */
  remove(ip: string): Promise<boolean>;
}

export type Runner = (cmd: string, args: string[]) => Promise<{ code: number; stderr: string }>;

const run: Runner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stderr: String(stderr) || (err ? err.message : '') });
    });
  });

export class LoopbackAddresses implements AddressDriver {
  constructor(
    private readonly dev = 'lo',
    private readonly runner: Runner = run,
  ) {}

  async add(ip: string): Promise<boolean> {
    const r = await this.runner('ip', ['addr', 'add', `${ip}/32`, 'dev', this.dev]);
    if (r.code === 0) return true;
    if (/file exists/i.test(r.stderr)) return false;
    throw new PilotError(
      /not permitted|permission/i.test(r.stderr) ? 'permission_denied' : 'internal',
      `cannot add ${ip} to ${this.dev}: ${r.stderr.trim()}`,
      'the gateway needs root (CAP_NET_ADMIN) to add local addresses',
    );
  }

  async remove(ip: string): Promise<boolean> {
    const r = await this.runner('ip', ['addr', 'del', `${ip}/32`, 'dev', this.dev]);
    if (r.code === 0) return true;
    if (/cannot assign requested address|not found/i.test(r.stderr)) return false;
    throw new PilotError('internal', `cannot remove ${ip} from ${this.dev}: ${r.stderr.trim()}`);
  }
}
