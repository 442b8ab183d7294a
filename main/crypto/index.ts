/** Crypto for every layer (STYLE.md §8): backends, identity, signatures, PILA, tunnel cipher, replay window. */
export type { Aead, BackendName, CryptoBackend, KeyPair } from './types';
export { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from './types';
export { allBackends, defaultBackendName, getCrypto } from './backends';
export { createNativeBackend } from './native';
export { createNobleBackend } from './noble';
export {
  Identity,
  formatIdentityFile,
  loadIdentity,
  loadIdentitySync,
  loadOrCreateIdentity,
  loadOrCreateIdentitySync,
  parseIdentityFile,
  saveIdentity,
  saveIdentitySync,
} from './identity';
export { challenge, verifyText, type SingleIdOp } from './signatures';
export { PILA_CHALLENGE_LENGTH, pilaChallenge, signPila, verifyPila } from './pila';
export {
  NONCE_PREFIX_LENGTH,
  TunnelCipher,
  deriveSecureChannelKey,
  deriveTunnelKey,
  type SealedFrame,
  type TunnelCipherOptions,
  type TunnelCipherStats,
} from './tunnel';
export { REPLAY_WINDOW_SIZE, ReplayWindow, readCounter, writeCounter, type ReplayVerdict } from './replay';
