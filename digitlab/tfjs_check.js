// Run a tf.js layers model on float32 28x28 images in node: the export's agreement check.
// node tfjs_check.js MODEL_FOLDER IMAGES.bin COUNT  ->  the probabilities as JSON on stdout
// Needs @tensorflow/tfjs-core, -layers and -backend-cpu on NODE_PATH (tests install them).
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const layers = require('@tensorflow/tfjs-layers');
const fs = require('fs');
const path = require('path');

async function main() {
  const [folder, imagesPath, count] = process.argv.slice(2);
  const document = JSON.parse(fs.readFileSync(path.join(folder, 'model.json')));
  const weights = fs.readFileSync(path.join(folder, 'weights.bin'));
  const model = await layers.loadLayersModel(tf.io.fromMemory({
    modelTopology: document.modelTopology,
    weightSpecs: document.weightsManifest[0].weights,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }));
  const raw = fs.readFileSync(imagesPath);
  const pixels = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const output = model.predict(tf.tensor4d(pixels, [Number(count), 28, 28, 1]));
  process.stdout.write(JSON.stringify(Array.from(await output.data())));
}

main().catch((error) => { console.error(error); process.exit(1); });
