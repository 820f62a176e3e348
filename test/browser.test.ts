/**
 * The editor in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser download) on the editor of a whole Node-RED process, against a
 * real PulseAudio server with two players. Screenshots go to test-artifacts/ (CI keeps them).
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { Player, playTone, PulseServer, startPulse, waitForStream } from './helpers/pulse';
import { NodeRedProcess, PROJECT_ROOT, startNodeRed } from './helpers/nodered';
import { readWav } from './helpers/wav';

const CHROMIUM = process.env.AUDIO_TAP_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

declare const RED: {
  nodes: {
    node(id: string): Record<string, unknown> | undefined;
    getType(type: string): { category: string } | undefined;
    filterNodes(filter: { type: string }): unknown[];
  };
  actions: { invoke(name: string): void };
};

describe('the editor in headless Chromium', function () {
  this.timeout(90000);
  let pulse: PulseServer;
  let a: Player;
  let b: Player;
  let red: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  /** Polls tap-source's status text on the canvas until it matches; resolves with it. */
  async function statusUntil(match: (text: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = (await page.locator('#tapnode .red-ui-flow-node-status-label').textContent()) ?? '';
      if (match(text)) return text;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`tap-source's status is "${text}" after ${timeoutMs} ms`);
  }

  async function screenshot(name: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  }

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set AUDIO_TAP_CHROMIUM)`);
    pulse = await startPulse();
    a = playTone('tone-a', 440);
    b = playTone('tone-b', 1000);
    await Promise.all([waitForStream(a), waitForStream(b)]);
    const nodes: Array<Record<string, unknown>> = [
      { id: 'tapnode', type: 'tap-source', name: '', targetType: 'app', app: '', exclude: '', sampleRate: 48000, channels: 2, encoding: 's16le', chunkMs: 20, queueChunks: 50, duration: 0, startOnDeploy: false, emitLevels: false, topic: '', x: 200, y: 120, wires: [['sinknode'], []] },
      { id: 'sinknode', type: 'wav-sink', name: '', directory: 'recordings', filename: 'browser-{app}.wav', x: 420, y: 120, wires: [[]] },
    ];
    red = await startNodeRed(nodes);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(red.url);
    await page.waitForFunction(() => typeof RED !== 'undefined' && RED.nodes.node('tapnode') !== undefined, null, { timeout: 30000 });
    await page.waitForSelector('#tapnode .red-ui-flow-node');
  });

  after(async function () {
    await browser?.close();
    await red?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await pulse?.stop();
  });

  it('the nodes are in the palette category "audio" with their own icons', async function () {
    const types = ['tap-source', 'wav-sink', 'list-apps', 'eq', 'soft-clip', 'audio-out', 'app-volume', 'pre-roll'];
    const categories = await page.evaluate((names) => names.map((t) => RED.nodes.getType(t)?.category), types);
    assert.deepStrictEqual(categories, types.map(() => 'audio'));
    const icon = await page.getAttribute('#tapnode .red-ui-flow-node-icon', 'href');
    assert.match(icon ?? '', /tap-source\.svg$/);
    const res = await fetch(new URL(icon!, red.url));
    assert.strictEqual(res.status, 200, `${icon} is served`);
    assert.match(await res.text(), /<svg/);
  });

  it('the dialogs read numbers as the runtime does (resources/editor.js)', async function () {
    const verdicts = await page.evaluate(() => {
      const check = (type: string, prop: string, value: unknown, node: object = {}): boolean => {
        const def = RED.nodes.getType(type) as unknown as { defaults: Record<string, { validate?: (v: unknown) => boolean }> };
        return def.defaults[prop].validate!.call(node, value);
      };
      return [
        check('wav-sink', 'rotateMinutes', '1e3'), // Node-RED's number syntax, as src/numbers.ts
        check('wav-sink', 'rotateMinutes', '0'), // off
        check('wav-sink', 'rotateMinutes', '0.001'), // below the smallest rotation
        check('wav-sink', 'maxGap', ''), // the default
        check('wav-sink', 'maxGap', 'ten'),
        check('tap-source', 'chunkMs', ''), // required
        check('tap-source', 'chunkMs', '1001'),
        check('tap-source', 'app', '12, 34', { targetType: 'pid' }),
        check('tap-source', 'app', '12, firefox', { targetType: 'pid' }),
        check('tap-source', 'app', 'zoom; firefox, 12; input:mic', { targetType: 'tracks' }),
        check('tap-source', 'app', ' ; ', { targetType: 'tracks' }),
        check('audio-out', 'bufferMs', '5e1'),
        check('eq', 'preamp', '-49'),
        check('soft-clip', 'ramp', '1000'),
      ];
    });
    assert.deepStrictEqual(verdicts, [true, true, false, true, false, false, false, true, false, true, false, true, false, true]);
  });

  it('the tap-source dialog lists the playing apps; picking one, deploying, the status shows time and level', async function () {
    await page.dblclick('#tapnode .red-ui-flow-node');
    await page.waitForSelector('.tap-source-apps li.tap-source-app');
    const rows = page.locator('.tap-source-apps li.tap-source-app');
    const listed = await rows.evaluateAll((lis) =>
      lis.map((li) => ({ name: li.querySelector('.tap-source-app-name')!.textContent, pid: Number(li.getAttribute('data-pid')), playing: li.querySelector('.fa-play') !== null })),
    );
    for (const player of [a, b]) {
      assert.ok(
        listed.some((app) => app.name === player.name && app.pid === player.pid && app.playing),
        `${player.name} (PID ${player.pid}) playing in the picker: ${JSON.stringify(listed)}`,
      );
    }
    await screenshot('tap-source-dialog');

    // Autocomplete: typing a prefix offers the matching app.
    const input = page.locator('#node-input-app').locator('xpath=..').locator('input.red-ui-typedInput-input');
    await input.fill('');
    await input.pressSequentially('tone-', { delay: 20 });
    await page.waitForSelector('.red-ui-autoComplete-container');
    const offered = await page.locator('.red-ui-autoComplete-container').innerText();
    assert.ok(offered.includes(`tone-a (PID ${a.pid}) ▶`) && offered.includes(`tone-b (PID ${b.pid}) ▶`), offered);
    await screenshot('tap-source-autocomplete');
    await input.press('Escape');

    // Pick tone-a from the list; record 3 s on deploy.
    await rows.filter({ hasText: 'tone-a' }).first().click();
    assert.strictEqual(await page.inputValue('#node-input-app'), 'tone-a');
    assert.strictEqual(await page.inputValue('#node-input-targetType'), 'app');
    await page.fill('#node-input-duration', '3');
    await page.check('#node-input-startOnDeploy');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('.red-ui-tray', { state: 'detached' });
    const config = await page.evaluate(() => {
      const n = RED.nodes.node('tapnode')!;
      return { app: n.app, targetType: n.targetType, duration: n.duration, startOnDeploy: n.startOnDeploy };
    });
    assert.deepStrictEqual(config, { app: 'tone-a', targetType: 'app', duration: '3', startOnDeploy: true });

    await page.click('#red-ui-header-button-deploy');
    const text = await statusUntil((t) => /^● 0:0[1-3] −\d+ dBFS$/.test(t), 20000);
    await screenshot('recording-status');
    // tone-a plays a sine of peak 0.5: −6 dBFS.
    assert.match(text, /−6 dBFS$/);
    assert.ok(text.length < 20, text);

    await statusUntil((t) => t === 'idle', 15000);
    const file = path.join(red.userDir, 'recordings', 'browser-tone-a.wav');
    const wav = await readWav(file);
    assert.ok(Math.abs(wav.data.length / 4 / 48000 - 3) <= 0.02);
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    assert.ok(Math.abs(db(medianToneAmplitude(x, 440, 48000), 0.5)) < 1, "tone-a's 440 Hz");
  });

  it('the system-mix target offers an editable exclude list filled from the picker', async function () {
    await page.dblclick('#tapnode .red-ui-flow-node');
    await page.waitForSelector('.tap-source-apps li.tap-source-app');
    await page.click('#node-input-app + .red-ui-typedInput-container button.red-ui-typedInput-type-select, .red-ui-typedInput-container:has(#node-input-app) button.red-ui-typedInput-type-select');
    await page.click('.red-ui-typedInput-options a[value="system"]');
    await page.waitForSelector('.tap-source-system-row', { state: 'visible' });
    await page.locator('.tap-source-apps li.tap-source-app', { hasText: 'tone-b' }).first().click();
    const excluded = await page.locator('#node-input-exclude-container .tap-source-exclude-app').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
    assert.deepStrictEqual(excluded, ['tone-b']);
    await screenshot('tap-source-system-minus');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('.red-ui-tray', { state: 'detached' });
    const config = await page.evaluate(() => {
      const n = RED.nodes.node('tapnode')!;
      return { targetType: n.targetType, exclude: n.exclude };
    });
    assert.deepStrictEqual(config, { targetType: 'system', exclude: 'tone-b' });
  });

  it('the eq dialog draws its response curve', async function () {
    // As a user adds it: dragged from the palette (so it has its defaults), then opened.
    const palette = page.locator(".red-ui-palette-node[data-palette-type='eq']");
    await palette.scrollIntoViewIfNeeded();
    await palette.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 300, y: 420 } });
    const id = await page.waitForFunction(() => (RED.nodes.filterNodes({ type: 'eq' })[0] as { id: string } | undefined)?.id);
    await page.dblclick(`[id="${await id.jsonValue()}"] .red-ui-flow-node`);
    const canvas = page.locator('#node-input-eq-curve');
    await canvas.waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const painted = await canvas.evaluate((c) => {
      const el = c as HTMLCanvasElement;
      const data = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      return { n, size: el.width * el.height };
    });
    assert.ok(painted.size > 0 && painted.n > painted.size * 0.005, `curve pixels: ${JSON.stringify(painted)}`);
    await screenshot('eq-dialog');
    await page.click('#node-dialog-cancel');
    await page.waitForSelector('.red-ui-tray', { state: 'detached' });
  });

  it('Import › Examples lists every example of the package and imports one', async function () {
    const titles = fs.readdirSync(path.join(PROJECT_ROOT, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    await page.evaluate(() => RED.actions.invoke('core:show-examples-import-dialog'));
    const dialog = page.locator('.red-ui-clipboard-dialog-box, #red-ui-clipboard-dialog').first();
    await dialog.getByText('node-red-contrib-audio-tap', { exact: true }).click();
    for (const title of titles) await dialog.getByText(title, { exact: true }).waitFor();
    await dialog.getByText('Record over MQTT', { exact: true }).click();
    await screenshot('import-examples');
    await page.click('#red-ui-clipboard-dialog-ok');
    await page.waitForFunction(() => RED.nodes.filterNodes({ type: 'mqtt in' }).length === 1);
    const imported = await page.evaluate(() => ['tap-source', 'wav-sink', 'mqtt out', 'comment'].map((type) => RED.nodes.filterNodes({ type }).length));
    assert.ok(imported.every((n) => n >= 1), JSON.stringify(imported));
    await page.mouse.click(700, 600); // drop the imported nodes on the canvas
    await screenshot('imported-mqtt-example');
  });

  it('no script errors in the editor', function () {
    assert.deepStrictEqual(consoleErrors, []);
  });
});
