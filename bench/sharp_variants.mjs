// sharp worker for bench/bench_processing.py: one JSON request per stdin line, one JSON answer per stdout line.
//
//   {"path": "photo.jpg", "edges": [2048, 1024, 256], "quality": 80, "out": "dir/prefix"}
//   -> {"ms": 123.4, "cpu_ms": 120.1, "bytes": [..], "sizes": [[w, h], ..], "files": [..]}
//   {"encode": "variant.png", "format": "webp" | "avif", "repeat": 3, "out": "dir/file"}
//   -> {"ms": [..], "cpu_ms": [..], "bytes": 123, "file": ".."}   (sharp's default settings for the format, the encode alone)
//   {"quit": true} -> {"max_rss_kb": ..., "versions": {..}}
//
// One variant per pipeline, as sharp's documentation does it: auto-orient, fit inside the long edge without
// enlarging, JPEG at the given quality with sharp's other defaults (baseline, 4:2:0, optimised Huffman coding),
// metadata stripped (sharp's default). One libvips thread and no operation cache, like the Python engines.
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import sharp from "sharp";

sharp.concurrency(1);
sharp.cache(false);

async function variants(request) {
  const input = readFileSync(request.path);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const outputs = [];
  for (const edge of request.edges) {
    outputs.push(
      await sharp(input)
        .rotate()
        .resize(edge, edge, { fit: "inside", withoutEnlargement: true })
        .jpeg({ quality: request.quality })
        .toBuffer({ resolveWithObject: true }),
    );
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage(cpuStart);
  const files = outputs.map((output, index) => {
    const file = `${request.out}-${index}.jpg`;
    writeFileSync(file, output.data);
    return file;
  });
  return {
    ms,
    cpu_ms: (cpu.user + cpu.system) / 1000,
    bytes: outputs.map((output) => output.data.length),
    sizes: outputs.map((output) => [output.info.width, output.info.height]),
    files,
  };
}

// The image is decoded to raw pixels first, untimed, so what is timed is sharp's encoder at its defaults
// (WebP: quality 80, effort 4; AVIF: quality 50, effort 4, 4:4:4), as the imaging core's encoders are timed.
async function encodeAlone(request) {
  const { data, info } = await sharp(readFileSync(request.encode)).raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
  const times = [];
  const cpuTimes = [];
  let output;
  for (let i = 0; i < (request.repeat || 1); i++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    output = await sharp(data, raw)[request.format]().toBuffer();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    const cpu = process.cpuUsage(cpuStart);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  writeFileSync(request.out, output);
  return { ms: times, cpu_ms: cpuTimes, bytes: output.length, file: request.out };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  if (request.quit) {
    process.stdout.write(JSON.stringify({ max_rss_kb: process.resourceUsage().maxRSS, versions: sharp.versions }) + "\n");
    break;
  }
  const answer = request.encode ? await encodeAlone(request) : await variants(request);
  process.stdout.write(JSON.stringify(answer) + "\n");
}
