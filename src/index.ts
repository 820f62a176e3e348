export * from './format';
export * from './engine';
