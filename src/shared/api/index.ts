export * from './contract';
export * from './envelope';
export * from './client';
