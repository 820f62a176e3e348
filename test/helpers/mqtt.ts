/** A private mosquitto broker for the MQTT examples' tests. */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { freePort } from './nodered';
import { waitFor } from './pulse';

export interface Broker {
  port: number;
  stop(): Promise<void>;
}

/** mosquitto on 127.0.0.1:<port>, anonymous, no persistence. */
export async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  const child: ChildProcess = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (data) => (log += String(data)));
  let exited = false;
  child.on('exit', () => (exited = true));
  child.on('error', (error) => {
    exited = true;
    log += `${error.message} (install it: apt-get install mosquitto)`;
  });
  await waitFor(() => exited || /Opening ipv4 listen socket|mosquitto version .* running/.test(log), 10000, 'mosquitto to listen');
  if (exited) throw new Error(`mosquitto did not start: ${log}`);
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
