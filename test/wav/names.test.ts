/** src/wav/names.ts: file name patterns, suffixes and parts, and names that stay in the directory. */
import assert from 'assert';
import path from 'path';
import { describeFsError, expandFilename, partPath, resolveInside, withSuffix } from '../../src/wav/names';

const now = new Date(2026, 11, 4, 9, 5, 7); // local time: 20261204-090507
const values = { app: 'Firefox', topic: 'meeting', recordingId: 'ab12', now };

describe('wav file names', function () {
  describe('expandFilename', function () {
    it('fills {app}, {topic}, {timestamp}, {date} and {recordingId}', function () {
      assert.strictEqual(expandFilename('{app}-{timestamp}.wav', values), 'Firefox-20261204-090507.wav');
      assert.strictEqual(expandFilename('{date}/{topic}-{recordingId}.wav', values), '20261204/meeting-ab12.wav');
    });

    it('adds .wav to a name without an extension, and leaves unknown braces alone', function () {
      assert.strictEqual(expandFilename('{app}', values), 'Firefox.wav');
      assert.strictEqual(expandFilename('take {n}.wav', values), 'take {n}.wav');
    });

    it('a placeholder value cannot add a separator or a leading dot', function () {
      const hostile = { ...values, app: '../../etc/passwd', topic: '.hidden', recordingId: 'a:b*c' };
      assert.strictEqual(expandFilename('{app}.wav', hostile), '__.._etc_passwd.wav');
      assert.strictEqual(expandFilename('{topic}.wav', hostile), '_hidden.wav');
      assert.strictEqual(expandFilename('{recordingId}.wav', hostile), 'a_b_c.wav');
      assert.strictEqual(expandFilename('{topic}.wav', { ...values, topic: '' }), '_.wav');
    });

    it('rotating: "-{part}" before the extension unless the pattern has {part}', function () {
      assert.strictEqual(expandFilename('talk.wav', values, true), 'talk-{part}.wav');
      assert.strictEqual(expandFilename('talk-{part}-{app}.wav', values, true), 'talk-{part}-Firefox.wav');
      assert.strictEqual(partPath('talk-{part}.wav', 3), 'talk-3.wav');
    });
  });

  it('{track}: the name of a track file; a pattern without it gets "-{track}" before the extension', function () {
    const values = { app: 'zoom | input (default)', topic: '', recordingId: 'r1', now: new Date(2026, 11, 5, 7, 30, 0) };
    assert.strictEqual(expandFilename('meeting.wav', { ...values, track: 'zoom' }), 'meeting-zoom.wav');
    assert.strictEqual(expandFilename('{track}/{date}.wav', { ...values, track: 'input (default)' }), 'input (default)/20261205.wav');
    assert.strictEqual(expandFilename('talk', { ...values, track: 'a/b' }, true), 'talk-a_b-{part}.wav');
    assert.strictEqual(expandFilename('talk.wav', values), 'talk.wav', 'no track: unchanged');
  });

  it('withSuffix: -N before the extension; 0 leaves the name', function () {
    assert.strictEqual(withSuffix('/r/talk.wav', 0), '/r/talk.wav');
    assert.strictEqual(withSuffix('/r/talk.wav', 2), '/r/talk-2.wav');
    assert.strictEqual(withSuffix('/r/talk-{part}.wav', 1), '/r/talk-{part}-1.wav');
  });

  describe('resolveInside', function () {
    const dir = path.resolve('/srv/recordings');
    it('keeps names inside the directory, subdirectories included', function () {
      assert.strictEqual(resolveInside(dir, 'a.wav'), path.join(dir, 'a.wav'));
      assert.strictEqual(resolveInside(dir, 'day/../b.wav'), path.join(dir, 'b.wav'));
      assert.strictEqual(resolveInside(dir, path.join(dir, 'c.wav')), path.join(dir, 'c.wav'));
    });

    it('refuses names that leave it, or are it', function () {
      for (const name of ['../x.wav', '/etc/x.wav', '.', 'sub/../../x.wav', '../recordings2/x.wav']) {
        assert.throws(() => resolveInside(dir, name), /outside the directory/, name);
      }
    });
  });

  it('describeFsError: what failed, in words a user can act on, keeping the code', function () {
    const error = describeFsError('writing', '/r/a.wav', Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }));
    assert.strictEqual(error.message, 'writing /r/a.wav failed: the disk is full (ENOSPC)');
    assert.strictEqual(error.code, 'ENOSPC');
    const other = describeFsError('creating', '/r/b.wav', Object.assign(new Error('odd'), { code: 'EWEIRD' }));
    assert.strictEqual(other.message, 'creating /r/b.wav failed: odd (EWEIRD)');
  });
});
