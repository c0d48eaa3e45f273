// A BlurHash decoder (https://github.com/woltapp/blurhash, MIT): the API's `placeholder`
// painted as a soft preview while the variants load.

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function decode83(text) {
  let value = 0;
  for (const char of text) {
    const digit = DIGITS.indexOf(char);
    if (digit < 0) throw new Error("not a blurhash");
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (value) => {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};

const toSrgb = (value) => {
  const v = Math.max(0, Math.min(1, value));
  return Math.round((v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055) * 255);
};

const signPow = (value, exponent) => Math.sign(value) * Math.abs(value) ** exponent;

/** RGBA pixels (Uint8ClampedArray) of `hash` at width x height. Throws on a malformed hash. */
export function decodeBlurhash(hash, width, height, punch = 1) {
  if (typeof hash !== "string" || hash.length < 6) throw new Error("not a blurhash");
  const sizeFlag = decode83(hash[0]);
  const numY = Math.floor(sizeFlag / 9) + 1;
  const numX = (sizeFlag % 9) + 1;
  if (hash.length !== 4 + 2 * numX * numY) throw new Error("not a blurhash");
  const maximum = ((decode83(hash[1]) + 1) / 166) * punch;

  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < numX * numY; i += 1) {
    const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    colors.push([
      signPow((Math.floor(ac / 361) - 9) / 9, 2) * maximum,
      signPow(((Math.floor(ac / 19) % 19) - 9) / 9, 2) * maximum,
      signPow(((ac % 19) - 9) / 9, 2) * maximum,
    ]);
  }

  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < numY; j += 1) {
        for (let i = 0; i < numX; i += 1) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const color = colors[i + j * numX];
          r += color[0] * basis;
          g += color[1] * basis;
          b += color[2] * basis;
        }
      }
      const offset = 4 * (x + y * width);
      pixels[offset] = toSrgb(r);
      pixels[offset + 1] = toSrgb(g);
      pixels[offset + 2] = toSrgb(b);
      pixels[offset + 3] = 255;
    }
  }
  return pixels;
}

/** A data: URL of the placeholder (a tiny PNG, scaled up by CSS), or null when it cannot be drawn. */
export function blurhashDataUrl(hash, aspect = 1) {
  try {
    const width = 32;
    const height = Math.max(1, Math.min(64, Math.round(32 / (aspect || 1))));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    context.putImageData(new ImageData(decodeBlurhash(hash, width, height), width, height), 0, 0);
    return canvas.toDataURL("image/png");
  } catch {
    return null;
  }
}
