export * from './crc32';
export * from './packet';
export * from './tunnel';
export * from './beacon';
export * from './framing';
export * from './service';
export * from './ipc';
export { parseIp, formatIp, isV4Mapped } from './ip';
export { ChunkQueue } from './chunks';
