/** DSP for the eq and soft-clip nodes: RBJ cookbook equaliser and soft clipper. */
export * from './cookbook';
export * from './presets';
export * from './pcm';
export * from './equalizer';
export * from './soft-clipper';
export * from './streams';
export * from './ramped-stream';
