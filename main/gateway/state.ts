/**
 * The gateway's state file (`<PILOT_HOME>/gateway.json`), written atomically (util/atomic-file)
 * BEFORE an address is added and after one is removed, so that whatever kills the gateway, the file
 * names every address it may have left on the loopback device. The next `gateway start` (or
 * `gateway stop` of a dead gateway) removes those addresses.
 */
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import type { Mapping } from './mapping';

export interface GatewayState {
  pid: number;
  subnet: string;
  ports: number[];
  /** Addresses this gateway added (or is about to add) to the loopback device. */
  addresses: string[];
  mappings: Mapping[];
}

export interface GatewayPaths {
  state: string;
  pid: string;
  control: string;
}

export function gatewayPaths(home: string): GatewayPaths {
  return {
    state: path.join(home, 'gateway.json'),
    pid: path.join(home, 'gateway.pid'),
    control: path.join(home, 'gateway.sock'),
  };
}

export async function readState(file: string): Promise<GatewayState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<GatewayState>;
    return {
      pid: typeof v.pid === 'number' ? v.pid : 0,
      subnet: typeof v.subnet === 'string' ? v.subnet : '',
      ports: Array.isArray(v.ports) ? v.ports.filter((p): p is number => typeof p === 'number') : [],
      addresses: Array.isArray(v.addresses) ? v.addresses.filter((a): a is string => typeof a === 'string') : [],
      mappings: Array.isArray(v.mappings) ? v.mappings : [],
    };
  } catch {
    // A torn file cannot happen (atomic writes); an unreadable one names nothing we can clean.
    return undefined;
  }
}

export async function writeState(file: string, s: GatewayState): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n');
}

export async function removeFile(file: string): Promise<void> {
  await unlink(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** True when a process with this pid exists (signal 0). */
export function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
