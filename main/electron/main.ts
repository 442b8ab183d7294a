import { app, BrowserWindow, ipcMain } from 'electron';
import { join } from 'node:path';
import { launchConsole, type LaunchedConsole } from '../console/launcher';
import { unavailableService, type ConsoleService } from '../api/service';
import { createLogger, jsonLineSink } from '../util/log';
import { registerConsoleIpc, trustedRendererUrl } from './ipc';

// The Electron main process: runs a full Pilot node (or attaches to a running local daemon, and says
// so), with an embedded backbone and a demo fleet when no backbone is configured (`--no-demo` to skip
// the fleet), then opens the window on the renderer bundle.
const log = createLogger({ level: 'info', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { component: 'electron' } });
let launched: LaunchedConsole | undefined;

const devUrl = process.env['ELECTRON_RENDERER_URL'];

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'Pilot Fleet',
    backgroundColor: '#0f1216',
    webPreferences: {
      // Sandboxed preloads cannot be ES modules: electron.vite.config.ts builds it as CommonJS.
      preload: join(__dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // The console never navigates away from its own page nor opens windows.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const loaded = devUrl ? win.loadURL(devUrl) : win.loadFile(join(__dirname, '../renderer/index.html'));
  loaded.catch((e: unknown) => log.error('could not load the console page', { error: e instanceof Error ? e.message : String(e) }));
}

async function start(): Promise<void> {
  await app.whenReady();
  let service: ConsoleService;
  try {
    launched = await launchConsole({ env: process.env, log, demo: !process.argv.includes('--no-demo') });
    log.info('console node ready', { mode: launched.mode, description: launched.description });
    service = launched.service;
  } catch (e) {
    log.error('could not start the console node', { error: e instanceof Error ? e.message : String(e) });
    service = unavailableService(`the console node did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  registerConsoleIpc({
    ipcMain,
    service,
    targets: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
    isTrustedSender: trustedRendererUrl(devUrl),
  });
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

start().catch((e: unknown) => {
  log.error('console start-up failed', { error: e instanceof Error ? e.message : String(e) });
  app.quit();
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('will-quit', (e) => {
  if (!launched) return;
  const l = launched;
  launched = undefined;
  e.preventDefault();
  l.stop().then(
    () => app.quit(),
    (err: unknown) => {
      log.error('stopping the console node failed', { error: err instanceof Error ? err.message : String(err) });
      app.quit();
    },
  );
});
