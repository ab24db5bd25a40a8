/**
 * The "draw a digit" pad: pointer strokes on a 280x280 canvas, turned into a 28x28 MNIST-like input.
 *
 * MNIST digits were size-normalised to fit a 20x20 box and centred in 28x28 by their centre of mass
 * (LeCun et al., "Gradient-based learning applied to document recognition", 1998); the same
 * preprocessing is applied here, or the model sees strokes in places it never learned.
 */

export interface DrawPad {
  /** Clears the pad. */
  clear(): void;
  /** The current drawing as 784 floats in [0, 1] (row-major 28x28), or null when the pad is empty. */
  toInput(): Float32Array | null;
}

/**
 * Wires pointer drawing onto a canvas; `onChange` fires (debounced) after each stroke.
 * @example
 * ```ts
 * const pad = createDrawPad(document.querySelector('canvas')!, (x) => x && predict(x));
 * ```
 */
export function createDrawPad(canvas: HTMLCanvasElement, onChange: (input: Float32Array | null) => void): DrawPad {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('2d canvas unavailable');
  const reset = () => {
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  reset();
  let drawing = false;
  let last: { x: number; y: number } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pos = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * canvas.width, y: ((e.clientY - r.top) / r.height) * canvas.height };
  };
  const stroke = (to: { x: number; y: number }) => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    const from = last ?? to;
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    last = to;
  };
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(toInput()), 120);
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    last = null;
    canvas.setPointerCapture(e.pointerId);
    stroke(pos(e));
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drawing) stroke(pos(e));
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    changed();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  function toInput(): Float32Array | null {
    const { width, height } = canvas;
    const img = ctx!.getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    let minX = width, minY = height, maxX = -1, maxY = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = (img[(y * width + x) * 4] as number) / 255;
        ink[y * width + x] = v;
        if (v > 0.1) {
          if (x < minX) minX = x;
          if (x > maxX) maxX = x;
          if (y < minY) minY = y;
          if (y > maxY) maxY = y;
        }
      }
    }
    if (maxX < 0) return null;
    return toMnist(ink, width, height, { minX, minY, maxX, maxY });
  }

  return {
    clear() {
      reset();
      onChange(null);
    },
    toInput,
  };
}

/**
 * Size-normalises an ink image's bounding box to 20 px on its longer side and centres it by centre of
 * mass in a 28x28 image (area-averaged resampling).
 * @example
 * ```ts
 * const x = toMnist(ink, 280, 280, { minX: 90, minY: 40, maxX: 180, maxY: 240 }); // 784 floats
 * ```
 */
export function toMnist(ink: Float32Array, width: number, _height: number, box: { minX: number; minY: number; maxX: number; maxY: number }): Float32Array {
  const bw = box.maxX - box.minX + 1;
  const bh = box.maxY - box.minY + 1;
  const scale = 20 / Math.max(bw, bh);
  const sw = Math.max(1, Math.round(bw * scale));
  const sh = Math.max(1, Math.round(bh * scale));
  // Area-average the box down to sw x sh.
  const small = new Float32Array(sw * sh);
  const count = new Float32Array(sw * sh);
  for (let y = box.minY; y <= box.maxY; y++) {
    const sy = Math.min(sh - 1, Math.floor((y - box.minY) * scale));
    for (let x = box.minX; x <= box.maxX; x++) {
      const sx = Math.min(sw - 1, Math.floor((x - box.minX) * scale));
      small[sy * sw + sx] = (small[sy * sw + sx] as number) + (ink[y * width + x] as number);
      count[sy * sw + sx] = (count[sy * sw + sx] as number) + 1;
    }
  }
  let mass = 0, cx = 0, cy = 0;
  for (let i = 0; i < small.length; i++) {
    const v = (count[i] as number) > 0 ? (small[i] as number) / (count[i] as number) : 0;
    small[i] = v;
    mass += v;
    cx += v * (i % sw);
    cy += v * Math.floor(i / sw);
  }
  cx = mass > 0 ? cx / mass : sw / 2;
  cy = mass > 0 ? cy / mass : sh / 2;
  const out = new Float32Array(28 * 28);
  const ox = Math.round(14 - cx - 0.5);
  const oy = Math.round(14 - cy - 0.5);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.min(1, small[y * sw + x] as number);
    }
  }
  return out;
}
