/**
 * `node --import tsx tools/exporter/code-colors-main.ts <staging dir> <vqgan checkpoint dir>`: decodes
 * the fit's code grids with the freshly written vqgan.onnx (onnxruntime-node) and writes
 * `preview-colors.bin` beside it. A child process, because the export itself is synchronous.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseVqganConfig, vqganGridSize } from '../../src/model/config.ts';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../../src/model/graph-io.ts';
import { FlaxCheckpoint } from './flax-msgpack.ts';
import { CheckpointParams } from './params.ts';
import { CODE_COLORS_FILE, FIT_IMAGES, fitCodeColors, fitCodes, patchMeans } from './code-colors.ts';

async function main(): Promise<void> {
  const [staging, vqganDir] = process.argv.slice(2) as [string, string];
  const configPath = join(vqganDir, 'config.json');
  const config = parseVqganConfig(JSON.parse(readFileSync(configPath, 'utf8')) as unknown, configPath);
  const grid = vqganGridSize(config);
  const codes = fitCodes(FIT_IMAGES, grid * grid, config.nEmbed);
  const session = await ort.InferenceSession.create(join(staging, 'vqgan.onnx'));
  const out = await session.run({
    [VQGAN_INPUTS.codes]: new ort.Tensor(
      'int64',
      BigInt64Array.from(codes, (c) => BigInt(c)),
      [FIT_IMAGES, grid * grid],
    ),
  });
  const pixels = out[VQGAN_OUTPUTS.pixels]!.data as Float32Array;
  await session.release();
  const checkpoint = FlaxCheckpoint.open(join(vqganDir, 'flax_model.msgpack'));
  try {
    const codebook = new CheckpointParams(checkpoint).read('quantize/embedding/embedding');
    const targets = patchMeans(pixels, FIT_IMAGES, config.outCh, config.resolution, grid);
    writeFileSync(join(staging, CODE_COLORS_FILE), fitCodeColors(codebook, config.embedDim, codes, targets));
  } finally {
    checkpoint.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
