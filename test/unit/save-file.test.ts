// The desktop "save file" IPC without Electron: what the renderer may send, what the dialog is
// offered, and that bytes land only at the path the dialog returned.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { handleSaveFile, type SaveDialogOptions, saveDialogOptions } from '../../src-main/node/app/save-file.js';
import { type SaveFileRequest, SaveFileResult } from '../../src-main/shared/api/bridge.js';

function fakeDeps(chosen: string | null) {
  const dialogs: SaveDialogOptions[] = [];
  const writes: { path: string; data: Uint8Array }[] = [];
  return {
    dialogs,
    writes,
    deps: {
      defaultFolder: '/home/me/Documents',
      joinPath: join,
      showSaveDialog: async (options: SaveDialogOptions) => {
        dialogs.push(options);
        return chosen;
      },
      writeFile: async (path: string, data: Uint8Array) => {
        writes.push({ path, data });
      },
    },
  };
}

const png: SaveFileRequest = { suggestedName: 'loss-run_1.png', kind: 'png', data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) };

describe('save file (Electron IPC handler)', () => {
  it('writes the bytes to the path the dialog returned, and says where', async () => {
    const fake = fakeDeps('/tmp/chosen/figure.png');
    const result = await handleSaveFile(png, fake.deps);
    assert.deepEqual(result, { saved: true, path: '/tmp/chosen/figure.png' });
    assert.equal(SaveFileResult.safeParse(result).success, true);
    assert.deepEqual(fake.writes, [{ path: '/tmp/chosen/figure.png', data: png.data }]);
    assert.deepEqual(fake.dialogs, [
      { title: 'Save PNG image', defaultPath: '/home/me/Documents/loss-run_1.png', filters: [{ name: 'PNG image', extensions: ['png'] }] },
    ]);
  });

  it('writes nothing when the user cancels', async () => {
    const fake = fakeDeps(null);
    assert.deepEqual(await handleSaveFile(png, fake.deps), { saved: false, reason: 'cancelled' });
    assert.equal(fake.writes.length, 0);
  });

  it('refuses paths, unknown kinds, non-bytes and extra fields without opening a dialog', async () => {
    const bad: unknown[] = [
      { ...png, suggestedName: '../../.bashrc' },
      { ...png, suggestedName: '/etc/passwd' },
      { ...png, suggestedName: 'a\\b.png' },
      { ...png, suggestedName: '' },
      { ...png, kind: 'exe' },
      { ...png, data: 'iVBORw0KGgo=' },
      { ...png, data: [1, 2, 3] },
      { ...png, path: '/tmp/x.png' },
      null,
    ];
    for (const payload of bad) {
      const fake = fakeDeps('/tmp/should-not-be-written');
      const result = await handleSaveFile(payload, fake.deps);
      assert.equal(result.saved, false, JSON.stringify(payload));
      assert.equal(result.saved === false && result.reason, 'refused');
      assert.equal(fake.dialogs.length, 0);
      assert.equal(fake.writes.length, 0);
    }
    const fake = fakeDeps('/tmp/x');
    const result = await handleSaveFile({ ...png, suggestedName: 'dir/x.png' }, fake.deps);
    assert.match(result.saved === false ? (result.message ?? '') : '', /suggestedName: must be a file name, not a path/);
  });

  it('offers a name with the extension of the kind', () => {
    const deps = { defaultFolder: '/d', joinPath: join };
    assert.equal(saveDialogOptions({ ...png, suggestedName: 'table', kind: 'csv' }, deps).defaultPath, '/d/table.csv');
    assert.equal(saveDialogOptions({ ...png, suggestedName: 'figure.PDF', kind: 'pdf' }, deps).defaultPath, '/d/figure.PDF');
    assert.equal(saveDialogOptions({ ...png, suggestedName: 'figure.png', kind: 'svg' }, deps).defaultPath, '/d/figure.png.svg');
  });
});
