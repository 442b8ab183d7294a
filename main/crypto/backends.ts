/**
 * Backend selection. `getCrypto()` returns a process-wide singleton per backend; the default is
 * `native` unless the environment variable PILOT_CRYPTO=noble says otherwise (read once per call,
 * so tests may set it before asking).
 */
import { PilotError } from '../../shared/errors';
import { createNativeBackend } from './native';
import { createNobleBackend } from './noble';
import type { BackendName, CryptoBackend } from './types';

const instances: Partial<Record<BackendName, CryptoBackend>> = {};

export function defaultBackendName(): BackendName {
  const v = process.env['PILOT_CRYPTO'];
  if (v === 'noble' || v === 'native') return v;
  return 'native';
}

export function getCrypto(name?: BackendName): CryptoBackend {
  const n = name ?? defaultBackendName();
  let b = instances[n];
  if (b === undefined) {
    if (n === 'native') b = createNativeBackend();
    else if (n === 'noble') b = createNobleBackend();
    else throw new PilotError('invalid_argument', `unknown crypto backend: ${String(n)}`);
    instances[n] = b;
  }
  return b;
}

/** Both backends (for tests and benchmarks that check one against the other). */
export function allBackends(): CryptoBackend[] {
  return [getCrypto('native'), getCrypto('noble')];
}
