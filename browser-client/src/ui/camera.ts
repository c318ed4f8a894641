/**
 * The camera, where the browser has one and allows it: a live preview over the pad and a Capture
 * button. The Camera button stays hidden when `getUserMedia` is unavailable (no camera API, or not
 * a secure context), so nobody is offered something that cannot work.
 */
import { type EncodedImage, imageFromVideo } from './image-input.js';

export class Camera {
  private stream: MediaStream | undefined;

  constructor(
    private readonly button: HTMLButtonElement,
    private readonly capture: HTMLButtonElement,
    private readonly video: HTMLVideoElement,
    private readonly onImage: (image: EncodedImage) => void,
    private readonly onError: (message: string) => void,
  ) {
    if (!navigator.mediaDevices?.getUserMedia) return;
    button.hidden = false;
    button.addEventListener('click', () => void (this.stream ? this.stop() : this.start()));
    capture.addEventListener('click', () => void this.shoot());
  }

  get active(): boolean {
    return this.stream !== undefined;
  }

  async start(): Promise<void> {
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch {
      this.onError('The camera is not available (permission denied or no camera). You can still draw or choose an image.');
      return;
    }
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play().catch(() => undefined);
    this.capture.hidden = false;
    this.button.textContent = 'Close camera';
    this.capture.focus();
  }

  stop(): void {
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = undefined;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.capture.hidden = true;
    this.button.textContent = 'Camera';
  }

  private async shoot(): Promise<void> {
    if (!this.stream || this.video.videoWidth === 0) return;
    const image = await imageFromVideo(this.video);
    this.stop();
    this.onImage(image);
  }
}
