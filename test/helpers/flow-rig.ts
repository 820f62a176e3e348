/**
 * Mocha hooks for a test file that loads flows into node-red-node-test-helper against a real
 * audio server: before, the server (startPulse), a fresh directory for the files the flows
 * write, and the helper's HTTP server; after, the flows unloaded, the players the tests added
 * to `players` stopped, the server stopped and the directory removed.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Player, PulseServer, startPulse } from './pulse';

export interface FlowRig {
  pulse: PulseServer;
  /** A fresh directory, removed after the file's tests. */
  dir: string;
  /** Players to stop after the file's tests. */
  players: Player[];
}

/** `helper`: node-red-node-test-helper, initialised; `prefix`: names the directory. */
export function useFlowRig(helper: any, prefix: string): FlowRig {
  const rig = { players: [] } as unknown as FlowRig;
  before(async function () {
    rig.pulse = await startPulse();
    rig.dir = fs.mkdtempSync(path.join(os.tmpdir(), `audio-tap-${prefix}-`));
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await Promise.all(rig.players.map((player) => player.stop()));
    await rig.pulse?.stop();
    if (rig.dir) fs.rmSync(rig.dir, { recursive: true, force: true });
  });
  return rig;
}
