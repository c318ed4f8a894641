/**
 * The drawing pad: white strokes on black, like MNIST, about 1/12 of the pad wide. Pointer events
 * cover mouse, touch and pen alike; pointer capture keeps a stroke going when it leaves the canvas.
 * A short quiet time after each stroke ends triggers `onDrawn`, so a digit drawn in two strokes
 * (a 4, a 7 with a bar) is classified once, whole.
 */
import { type GreyImage, rgbaToGrey } from './mnist-normalise.js';

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private last: { x: number; y: number } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inked = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onDrawn: () => void,
    private readonly delayMs: number,
  ) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d canvas context');
    this.ctx = ctx;
    this.resize();
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    canvas.addEventListener('keydown', (e) => {
      if (e.key === 'Delete' || e.key === 'Backspace' || e.key === 'Escape') {
        e.preventDefault();
        this.clear();
      }
    });
  }

  /** Whether anything is drawn. */
  get hasInk(): boolean {
    return this.inked;
  }

  /** Matches the backing store to the displayed size (sharp lines on high-DPI screens), then clears. */
  resize(): void {
    const side = Math.round((this.canvas.clientWidth || 280) * Math.min(2, window.devicePixelRatio || 1));
    if (this.canvas.width !== side) {
      this.canvas.width = side;
      this.canvas.height = side;
    }
    this.clear();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
  }

  /** The pad's pixels as grey levels. */
  grey(): GreyImage {
    const { width, height } = this.canvas;
    return rgbaToGrey(this.ctx.getImageData(0, 0, width, height).data, width, height);
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * this.canvas.width, y: ((e.clientY - r.top) / r.height) * this.canvas.height };
  }

  private down(e: PointerEvent): void {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    clearTimeout(this.timer);
    this.canvas.setPointerCapture(e.pointerId);
    this.drawing = true;
    this.last = this.point(e);
    this.segment(this.last, this.last);
  }

  private move(e: PointerEvent): void {
    if (!this.drawing || !this.last) return;
    e.preventDefault();
    // Coalesced events keep fast strokes smooth on devices that batch pointer moves.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [e];
    for (const ev of events.length > 0 ? events : [e]) {
      const p = this.point(ev);
      this.segment(this.last, p);
      this.last = p;
    }
  }

  private up(e: PointerEvent): void {
    if (!this.drawing) return;
    this.drawing = false;
    this.last = undefined;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onDrawn(), this.delayMs);
  }

  private segment(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = this.canvas.width / 12;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x + 0.01, b.y); // a zero-length line draws nothing: nudge it so a tap leaves a dot
    c.stroke();
    this.inked = true;
  }
}
