// The Electron main process: windows, menus and the IPC carrier of the LabApi. Thin on purpose:
// everything it serves comes from LabService, which runs (and is tested) in plain Node.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, type IpcMainInvokeEvent, ipcMain, session, shell, type WebContents } from 'electron';
import { fileAccessFromEnv } from '../node/app/electron-files.js';
import { NATIVE_BINDING_ENV_VAR } from '../node/app/electron-native.js';
import { handleSaveFile } from '../node/app/save-file.js';
import { createJsonDispatcher, joinParts } from '../node/lab/dispatch.js';
import { PARAMS_CHECKED_IN_WORKER } from '../node/lab/handlers.js';
import { closeLab, openLab } from '../node/lab/open.js';
import type { LabService } from '../node/lab/service.js';
import { resolveDatabasePath } from '../node/store/location.js';
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, IPC_SAVE_FILE_CHANNEL } from '../shared/api/bridge.js';
import { handleFilesChannel } from './files-ipc.js';

const rendererIndex = pathToFileURL(fileURLToPath(new URL('../../renderer/index.html', import.meta.url)));
const preloadPath = fileURLToPath(new URL('./preload.cjs', import.meta.url));

let mainWindow: BrowserWindow | null = null;

function isOurPage(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' && parsed.pathname === rendererIndex.pathname;
  } catch {
    return false;
  }
}

function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    // Links to documentation open in the user's browser, never inside the app.
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event, url) => {
    if (!isOurPage(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function createWindow(service: LabService): BrowserWindow {
  const window = new BrowserWindow({
    width: 1360,
    height: 860,
    title: 'CellShift',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
      // Middle-click would open links in new windows: not in a lab app.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  const unsubscribe = service.onEvent((event) => {
    if (!window.isDestroyed()) window.webContents.send(IPC_EVENT_CHANNEL, event);
  });
  window.on('closed', unsubscribe);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(rendererIndex.href);
  return window;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.enableSandbox();
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.on('web-contents-created', (_event, contents) => hardenContents(contents));
  await app.whenReady();

  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  let service: LabService;
  try {
    const nativeBinding = process.env[NATIVE_BINDING_ENV_VAR];
    // Allowed folders come from the launcher's command line (cellshift start --allow-dir), never the page.
    const fileAccess = fileAccessFromEnv();
    service = await openLab({
      databasePath: resolveDatabasePath(undefined),
      carrier: 'electron',
      allowedDirs: fileAccess.allowedDirs,
      uploads: fileAccess.maxUploadBytes === undefined ? {} : { maxBytes: fileAccess.maxUploadBytes },
      ...(nativeBinding ? { nativeBinding } : {}),
    });
  } catch (error) {
    dialog.showErrorBox('CellShift cannot open its database', error instanceof Error ? error.message : String(error));
    app.exit(1);
    return;
  }

  // Envelopes cross IPC as UTF-8 JSON bytes (the preload passes them on; the renderer's carrier
  // decodes and parses them): a large result a worker serialized is forwarded without being parsed here.
  const dispatch = createJsonDispatcher(service.handlers(), console.error, PARAMS_CHECKED_IN_WORKER);
  ipcMain.handle(IPC_CALL_CHANNEL, async (event: IpcMainInvokeEvent, request: unknown) => {
    if (!isOurPage(event.senderFrame?.url)) {
      return { id: null, ok: false, error: { code: 'unauthorized', message: 'IPC from an unexpected page was refused' } };
    }
    return joinParts(await dispatch(request));
  });
  const stopFiles = handleFilesChannel(service, isOurPage);
  service.startBackgroundWork();

  // Exports: the renderer sends bytes and a suggested name; only the path the user picks in the
  // native dialog is written (the renderer never names a path).
  ipcMain.handle(IPC_SAVE_FILE_CHANNEL, async (event: IpcMainInvokeEvent, payload: unknown) => {
    if (!isOurPage(event.senderFrame?.url)) return { saved: false, reason: 'refused', message: 'Save from an unexpected page was refused' };
    const owner = BrowserWindow.fromWebContents(event.sender);
    return handleSaveFile(payload, {
      defaultFolder: app.getPath('documents'),
      joinPath: join,
      showSaveDialog: async (options) => {
        const result = owner ? await dialog.showSaveDialog(owner, options) : await dialog.showSaveDialog(options);
        return result.canceled || !result.filePath ? null : result.filePath;
      },
      writeFile: (path, data) => writeFile(path, data),
    });
  });

  mainWindow = createWindow(service);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow(service);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', (event) => {
    event.preventDefault();
    ipcMain.removeHandler(IPC_CALL_CHANNEL);
    ipcMain.removeHandler(IPC_SAVE_FILE_CHANNEL);
    stopFiles();
    void closeLab(service).finally(() => app.exit(0));
  });
}

void main();
