export * from './seq';
export * from './config';
export * from './heap';
export * from './stream';
export * from './table';
