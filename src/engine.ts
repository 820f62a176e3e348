/**
 * The typed engine API, usable without Node-RED: capture.ts (Capture), playback.ts
 * (Playback), apps.ts (listApps, listDevices, listTaps, setAppVolume, backendName).
 *
 *   const apps = await listApps();
 *   const capture = new Capture({ target: { kind: 'app', apps: ['firefox'] } });
 *   capture.on('chunk', (chunk) => …);     // chunk.data: Buffer of interleaved PCM
 *   capture.on('end', (end) => …);         // end.reason: 'stopped' | 'target-exited' | 'error'
 *   await capture.start();
 *   capture.stop();
 */
export * from './apps';
export * from './capture';
export * from './playback';
