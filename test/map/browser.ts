// Headless Debian Chromium for the map tests (playwright-core, never a downloaded browser), the
// Web Mercator projection the page must agree with, and pixels of a screenshot.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Web Mercator (EPSG:3857) world pixel of a position at a zoom level, 256-px tiles. */
export function mercatorPx(lat: number, lng: number, z: number): { x: number; y: number } {
  const size = 256 * 2 ** z;
  const s = Math.sin((lat * Math.PI) / 180);
  return { x: ((lng + 180) / 360) * size, y: (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size };
}

export interface Pixels {
  width: number;
  height: number;
  /** r + g + b of the pixel at (x, y), 0…765. */
  brightness(x: number, y: number): number;
}

/** Decodes a PNG (a screenshot) in a blank browser page and hands back its pixels. */
export async function pixelsOf(browser: Browser, png: Buffer): Promise<Pixels> {
  const page = await browser.newPage();
  try {
    const { width, height, rgba } = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let bin = '';
      for (let i = 0; i < data.length; i += 0x8000) bin += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width: c.width, height: c.height, rgba: btoa(bin) };
    }, png.toString('base64'));
    const data = Buffer.from(rgba, 'base64');
    return {
      width,
      height,
      brightness(x, y) {
        if (x < 0 || y < 0 || x >= width || y >= height) throw new Error(`pixel (${x}, ${y}) outside ${width}×${height}`);
        const i = (Math.round(y) * width + Math.round(x)) * 4;
        return data[i] + data[i + 1] + data[i + 2];
      },
    };
  } finally {
    await page.close();
  }
}
