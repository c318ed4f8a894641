/**
 * The composition root: the only place that starts side effects (listeners, timers, the service
 * worker, the network). It opens the database, loads the config and the installed model, wires the
 * UI to the app, then starts the hub link and the update checks.
 */
import './styles.css';
import { App } from './app.js';
import { loadClientConfig } from './boot/client-config.js';
import { Sync } from './boot/sync.js';
import { Updates } from './boot/updates.js';
import { defaultLimits } from './config.js';
import { errorCode, errorMessage } from './errors.js';
import { Classifier } from './inference/classifier.js';
import { IdbOutbox } from './outbox/idb-outbox.js';
import { Sampler } from './sampler/sampler.js';
import { openDatabase } from './storage/idb.js';
import { Camera } from './ui/camera.js';
import { type EncodedImage, encodeGreyPng, imageFromFile } from './ui/image-input.js';
import { mnistNormalise } from './ui/mnist-normalise.js';
import { DrawingPad } from './ui/pad.js';
import { View } from './ui/view.js';
import { loadInstalled } from './updates/model-store.js';

declare const __APP_VERSION__: string;

async function main(): Promise<void> {
  const view = new View();
  const limits = defaultLimits;
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((e) => console.warn('[edgeloop] no service worker', e));
  }
  const db = await openDatabase();
  db.onversionchange = () => db.close();
  const { config, problem } = await loadClientConfig(db);
  const outbox = new IdbOutbox(db, { maxEntries: limits.outboxMaxEntries, maxBytes: limits.outboxMaxBytes });
  const sampler = await Sampler.open(db, config.sampling);
  const refreshCount = () =>
    void outbox.stats().then(
      (s) => view.setOutboxCount(s.count),
      () => undefined,
    );
  outbox.onChange(refreshCount);
  refreshCount();

  let sync: Sync | undefined;
  const app = new App({ outbox, sampler, deviceId: () => sync?.deviceId, onQueued: () => sync?.kick() });
  const useModel = (c: Classifier) => {
    app.setClassifier(c);
    view.setModel(c.ref, c.manifest.labels, c.provider);
  };

  const installed = await loadInstalled(db).catch(() => undefined);
  if (installed) {
    try {
      useModel(await Classifier.load(installed.modelBytes, installed.manifest));
    } catch (error) {
      view.showNotice(`The stored model could not be loaded (${errorCode(error)}). Connect to download it again.`, 'error');
    }
  } else view.setModel(undefined, []);
  if (problem && !installed) view.showNotice(`Not connected to a hub yet: ${problem}.`, 'warn');

  const show = async (image: EncodedImage) => {
    view.setBusy(true);
    try {
      await view.showPreview(image.bytes, image.mime);
      view.showPrediction((await app.classify(image)).prediction);
    } catch (error) {
      view.showNotice(`${errorMessage(error)} (${errorCode(error)})`, 'error');
    } finally {
      view.setBusy(false);
    }
  };

  const pad = new DrawingPad(
    view.pad,
    async () => {
      const field = mnistNormalise(pad.grey());
      if (field) await show(await encodeGreyPng(field));
    },
    limits.classifyDelayMs,
  );
  view.clear.addEventListener('click', () => {
    pad.clear();
    view.clearPrediction();
    view.pad.focus();
  });
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    try {
      await show(await imageFromFile(file));
    } catch (error) {
      view.showNotice(`${errorMessage(error)}`, 'error');
    }
  };
  view.file.addEventListener('change', () => void onFile(view.file.files?.[0]).finally(() => (view.file.value = '')));
  wireDrop(view.dropZone, onFile);
  const camera = new Camera(
    view.camera,
    view.capture,
    view.video,
    (img) => void show(img),
    (m) => view.showNotice(m, 'warn'),
  );
  void camera;

  view.wrong.addEventListener('click', () => view.toggleCorrection(view.correctionForm.hidden));
  view.correctionForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const label = view.correctLabel.value;
    app.correct(label).then(
      () => {
        view.toggleCorrection(false);
        view.showNotice(`Thanks! Your correction "${label}" will be sent${navigator.onLine ? '' : ' when you are back online'}.`, 'ok');
        view.wrong.focus();
      },
      (error) => view.showNotice(`The correction could not be saved: ${errorMessage(error)}`, 'error'),
    );
  });

  sync = new Sync({
    db,
    config,
    limits,
    outbox,
    appVersion: __APP_VERSION__,
    model: () => app.model?.ref,
    onNetwork: (online) => view.setNetwork(online),
    onConfig: (c) => sampler.applyConfig(c),
    onAnnouncement: () => void updates.check(false),
    onProblem: (m) => view.showNotice(m, 'warn'),
  });

  const updates = new Updates({
    db,
    config,
    limits,
    installedVersion: () => (app.model?.manifest.name === config.model ? (app.model?.ref.version ?? 0) : 0),
    onInstalled: useModel,
    onResult: (r, manual) => {
      if (r.status === 'updated') view.showNotice(`Updated to ${config.model} v${r.version}.`, 'ok');
      else if (r.status === 'rejected') view.showNotice(`Update refused (${r.code}): ${r.message}. Keeping the current model.`, 'error');
      else if (r.status === 'disabled') {
        if (manual) view.showNotice(r.reason, 'warn');
      } else if (manual) view.showNotice(`Up to date${r.version ? ` (v${r.version})` : ''}.`, 'ok');
    },
  });
  if (updates.disabledReason && config.model) view.showNotice(updates.disabledReason, 'warn');
  view.checkUpdates.addEventListener('click', () => {
    view.clearNotice();
    view.setChecking(true);
    void updates.check(true).finally(() => view.setChecking(false));
  });

  await sync.start();
  updates.start();
}

/** Drag and drop an image onto the pad. */
function wireDrop(zone: HTMLElement, onFile: (f: File | undefined) => Promise<void>): void {
  const on = (e: DragEvent, dragging: boolean) => {
    e.preventDefault();
    zone.classList.toggle('dragging', dragging);
  };
  zone.addEventListener('dragover', (e) => on(e, true));
  zone.addEventListener('dragleave', (e) => on(e, false));
  zone.addEventListener('drop', (e) => {
    on(e, false);
    void onFile(e.dataTransfer?.files[0]);
  });
}

main().catch((error) => {
  const notice = document.querySelector<HTMLElement>('[data-testid="notice"]');
  if (notice) {
    notice.hidden = false;
    notice.dataset.kind = 'error';
    notice.textContent = `edgeloop could not start: ${errorMessage(error)} (${errorCode(error)})`;
  }
  console.error(error);
});
