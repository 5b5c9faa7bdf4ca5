// The Electron shell cannot run here (no binary), so guard what matters about it statically:
// the sandboxed preload repeats the channel names, and the window keeps its security settings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, IPC_FILES_CHANNEL, IPC_SAVE_FILE_CHANNEL } from '../../src-main/shared/api/bridge.js';

const preload = readFileSync(new URL('../../src-main/electron/preload.cts', import.meta.url), 'utf8');
const main = readFileSync(new URL('../../src-main/electron/main.ts', import.meta.url), 'utf8');
const filesIpc = readFileSync(new URL('../../src-main/electron/files-ipc.ts', import.meta.url), 'utf8');

describe('Electron shell', () => {
  it('preload uses the same IPC channel names as the contract', () => {
    assert.match(preload, new RegExp(`IPC_CALL_CHANNEL = '${IPC_CALL_CHANNEL}'`));
    assert.match(preload, new RegExp(`IPC_EVENT_CHANNEL = '${IPC_EVENT_CHANNEL}'`));
    assert.match(preload, new RegExp(`IPC_SAVE_FILE_CHANNEL = '${IPC_SAVE_FILE_CHANNEL}'`));
    assert.match(preload, new RegExp(`IPC_FILES_CHANNEL = '${IPC_FILES_CHANNEL}'`));
  });

  it('the save-file IPC checks the sender and writes only through the dialog handler', () => {
    assert.match(
      main,
      /ipcMain\.handle\(IPC_SAVE_FILE_CHANNEL[\s\S]*?isOurPage\(event\.senderFrame\?\.url\)[\s\S]*?handleSaveFile\(payload/,
    );
    assert.match(main, /ipcMain\.removeHandler\(IPC_SAVE_FILE_CHANNEL\)/);
    // The only file writes in the shell are the ones handleSaveFile asks for.
    assert.equal(main.match(/writeFile\(/g)?.length, 1);
  });

  it('the files channel checks its sender, validates every message, and takes no paths from the page', () => {
    assert.ok(filesIpc.includes('isOurPage(event.senderFrame?.url)'), 'files-ipc.ts checks the sending frame');
    assert.ok(filesIpc.includes('FilesIpcRequest.safeParse(raw)'), 'files-ipc.ts validates each message');
    assert.ok(main.includes('handleFilesChannel(service, isOurPage)'), 'main.ts installs the files channel with its page check');
    // Only main's own dialog result becomes a trusted path.
    assert.deepEqual(filesIpc.match(/files\.trust\([^)]*\)/g), ["files.trust(path, 'dialog')"]);
    assert.match(filesIpc, /for \(const path of chosen\.filePaths\)/);
  });

  it('preload exposes only the cellshift bridge', () => {
    const exposures = preload.match(/exposeInMainWorld\('([^']+)'/g) ?? [];
    assert.deepEqual(exposures, ["exposeInMainWorld('cellshift'"]);
    assert.doesNotMatch(preload, /exposeInMainWorld\([^)]*ipcRenderer\s*[,)]/);
  });

  it('the window keeps isolation, sandbox and no Node integration', () => {
    for (const setting of ['contextIsolation: true', 'sandbox: true', 'nodeIntegration: false', 'webSecurity: true']) {
      assert.ok(main.includes(setting), `main.ts lacks ${setting}`);
    }
    for (const guard of ['setWindowOpenHandler', "'will-navigate'", 'setPermissionRequestHandler', 'isOurPage(event.senderFrame']) {
      assert.ok(main.includes(guard), `main.ts lacks ${guard}`);
    }
  });

  it('only src-main/electron (and node/app, which locates the binary) imports electron', async () => {
    const { readdirSync } = await import('node:fs');
    const offenders = readdirSync(new URL('../../src-main', import.meta.url), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && /\.(c|m)?ts$/.test(entry.name))
      .map((entry) => `${entry.parentPath}/${entry.name}`)
      .filter((path) => !path.includes('/src-main/electron/') && !path.includes('/src-main/node/app/'))
      .filter((path) => /from ['"]electron['"]|require\(['"]electron['"]\)/.test(readFileSync(path, 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
