/** Manifests of a test folder as older exports would describe it. */
import type { GraphEntry, ModelManifest } from '../../src/model/manifest.ts';

/** The manifest of a folder exported before the text axis was symbolic: both rows padded to maxTextLength. */
export function fixedTextLength(manifest: ModelManifest): ModelManifest {
  const fixed = (entry: GraphEntry): GraphEntry => {
    const copy = { ...entry };
    delete copy.dynamicTextLength;
    return copy;
  };
  const { encoder, decoder, vqgan } = manifest.graphs;
  return { ...manifest, graphs: { encoder: fixed(encoder), decoder: fixed(decoder), vqgan } };
}

/** The manifest of a folder exported before the q8 decoder's dequantization graph (ONNX Runtime folds instead). */
export function withoutDequantizeGraph(manifest: ModelManifest): ModelManifest {
  const decoder = { ...manifest.graphs.decoder };
  delete decoder.weightInputsFile;
  delete decoder.dequantizeFile;
  return { ...manifest, graphs: { ...manifest.graphs, decoder } };
}
