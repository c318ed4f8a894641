/**
 * The page's live parts, found once by their `data-testid`, and how each state is shown. Only
 * this file touches the status DOM, so the rest of the app talks in states, not elements.
 */
import type { ModelRef } from '@edgeloop/protocol';
import type { Prediction } from '../inference/classifier.js';

function byTestId<T extends HTMLElement>(id: string): T {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`the page has no [data-testid="${id}"]`);
  return el;
}

export type NoticeKind = 'info' | 'ok' | 'warn' | 'error';

export class View {
  readonly pad = byTestId<HTMLCanvasElement>('pad');
  readonly clear = byTestId<HTMLButtonElement>('clear');
  readonly file = byTestId<HTMLInputElement>('file');
  readonly camera = byTestId<HTMLButtonElement>('camera');
  readonly capture = document.getElementById('capture') as HTMLButtonElement;
  readonly video = document.getElementById('camera-video') as HTMLVideoElement;
  readonly dropZone = document.getElementById('drop-zone') as HTMLElement;
  readonly wrong = byTestId<HTMLButtonElement>('wrong');
  readonly correctLabel = byTestId<HTMLSelectElement>('correct-label');
  readonly sendCorrection = byTestId<HTMLButtonElement>('send-correction');
  readonly correctionForm = document.getElementById('correction-form') as HTMLFormElement;
  readonly checkUpdates = byTestId<HTMLButtonElement>('check-updates');
  private readonly results = byTestId<HTMLOListElement>('results');
  private readonly top1 = byTestId<HTMLElement>('top1');
  private readonly modelVersion = byTestId<HTMLElement>('model-version');
  private readonly network = byTestId<HTMLElement>('network');
  private readonly outboxCount = byTestId<HTMLElement>('outbox-count');
  private readonly notice = byTestId<HTMLElement>('notice');
  private readonly preview = document.getElementById('preview') as HTMLCanvasElement;
  private readonly runtime = document.getElementById('runtime') as HTMLElement;
  private readonly output = document.getElementById('output') as HTMLElement;
  private readonly emptyHint = document.getElementById('empty-hint') as HTMLElement;

  setModel(model: ModelRef | undefined, labels: readonly string[], provider?: string): void {
    this.modelVersion.textContent = model ? `${model.name} v${model.version}` : 'none';
    this.emptyHint.textContent = model
      ? 'Draw a digit, choose an image or use the camera to see what the model thinks.'
      : 'No model on this device yet. Open this page once while connected to the hub to download a verified one.';
    const options = labels.map((l) => new Option(l, l));
    this.correctLabel.replaceChildren(...options);
    if (provider)
      this.runtime.textContent = `Runs on this device (${provider === 'webgpu' ? 'WebGPU' : 'WebAssembly'}). Only uncertain inputs and your corrections are shared, to improve the model.`;
  }

  setNetwork(online: boolean): void {
    this.network.textContent = online ? 'online' : 'offline';
    (this.network.parentElement as HTMLElement).dataset.state = online ? 'online' : 'offline';
  }

  setOutboxCount(n: number): void {
    this.outboxCount.textContent = String(n);
  }

  setBusy(busy: boolean): void {
    this.output.setAttribute('aria-busy', String(busy));
  }

  showNotice(message: string, kind: NoticeKind = 'info'): void {
    this.notice.textContent = message;
    this.notice.dataset.kind = kind;
    this.notice.hidden = false;
  }

  /** Empties the notice, so the next message is unmistakably new (tests wait for it). */
  clearNotice(): void {
    this.notice.textContent = '';
    this.notice.hidden = true;
  }

  /** Shows that an update check is running, on the button itself. */
  setChecking(checking: boolean): void {
    this.checkUpdates.disabled = checking;
    this.checkUpdates.textContent = checking ? 'Checking…' : 'Check for updates';
  }

  showPrediction(p: Prediction): void {
    this.top1.textContent = p.label;
    const items = p.top.map(({ label, p: conf }) => {
      const li = document.createElement('li');
      li.dataset.label = label;
      li.dataset.confidence = conf.toFixed(6);
      const pct = `${Math.round(conf * 100)}%`;
      const name = Object.assign(document.createElement('span'), { className: 'name', textContent: label });
      const meter = Object.assign(document.createElement('span'), { className: 'meter' });
      meter.setAttribute('role', 'meter');
      meter.setAttribute('aria-valuemin', '0');
      meter.setAttribute('aria-valuemax', '100');
      meter.setAttribute('aria-valuenow', String(Math.round(conf * 100)));
      meter.setAttribute('aria-label', `${label}: ${pct}`);
      const fill = Object.assign(document.createElement('span'), { className: 'fill' });
      fill.style.width = `${Math.max(1, conf * 100)}%`;
      meter.append(fill);
      const num = Object.assign(document.createElement('span'), { className: 'pct', textContent: pct });
      li.append(name, meter, num);
      return li;
    });
    this.results.replaceChildren(...items);
    this.emptyHint.hidden = true;
    this.wrong.disabled = false;
    if (Array.from(this.correctLabel.options).some((o) => o.value !== p.label)) {
      this.correctLabel.value = Array.from(this.correctLabel.options).find((o) => o.value !== p.label)?.value ?? '';
    }
  }

  clearPrediction(): void {
    this.top1.textContent = ''; // empty until a prediction (CSS shows a dash)
    this.results.replaceChildren();
    this.emptyHint.hidden = false;
    this.wrong.disabled = true;
    this.toggleCorrection(false);
    this.preview.getContext('2d')?.clearRect(0, 0, this.preview.width, this.preview.height);
  }

  /** Shows what the model was given (the 28×28 field for drawings, a thumbnail for photos). */
  async showPreview(bytes: Uint8Array, mime: string): Promise<void> {
    const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime })).catch(() => undefined);
    if (!bitmap) return;
    const c = this.preview;
    const side = bitmap.width === 28 && bitmap.height === 28 ? 28 : 84;
    c.width = side;
    c.height = side;
    const ctx = c.getContext('2d');
    if (ctx) {
      ctx.imageSmoothingEnabled = side !== 28;
      const s = Math.min(side / bitmap.width, side / bitmap.height);
      ctx.clearRect(0, 0, side, side);
      ctx.drawImage(bitmap, (side - bitmap.width * s) / 2, (side - bitmap.height * s) / 2, bitmap.width * s, bitmap.height * s);
    }
    bitmap.close();
  }

  toggleCorrection(open: boolean): void {
    this.correctionForm.hidden = !open;
    this.wrong.setAttribute('aria-expanded', String(open));
    if (open) this.correctLabel.focus();
  }
}
