/**
 * An exported model against src/model/graph-io.ts: the names ONNX Runtime reports are the ones the
 * runtime feeds and reads.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  GRAPH_NAMES,
  cacheFeedback,
  crossAttentionNames,
  graphInputNames,
  graphOutputNames,
} from '../src/model/graph-io.ts';
import type { GraphName } from '../src/model/graph-io.ts';
import { createSession } from '../src/pipeline/runtime.ts';
import type { Session } from '../src/pipeline/runtime.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

const source = openModelFolder(tinyModel('fp32'));
const config = source.manifest.dalleBart;
const sessions = new Map<GraphName, Session>();
for (const graph of GRAPH_NAMES) sessions.set(graph, await createSession(ort, source, graph));
after(() => Promise.all([...sessions.values()].map((session) => session.release())));

void test('the manifest has one graph per name in GRAPH_NAMES', () => {
  assert.deepEqual(Object.keys(source.manifest.graphs), [...GRAPH_NAMES]);
});

for (const graph of GRAPH_NAMES) {
  void test(`${graph}: ONNX Runtime lists exactly the inputs and outputs graph-io names, in order`, () => {
    const session = sessions.get(graph)!;
    assert.deepEqual(session.inputNames, graphInputNames(graph, config));
    assert.deepEqual(session.outputNames, graphOutputNames(graph, config));
  });
}

void test('the encoder outputs every cross key/value the decoder reads, and each present.* output has a past.* input', () => {
  const encoder = sessions.get('encoder')!;
  const decoder = sessions.get('decoder')!;
  assert.ok(config.decoderLayers > 1, 'the tiny model has several decoder layers, so per-layer names are told apart');
  for (const { key, value } of crossAttentionNames(config)) {
    for (const name of [key, value])
      assert.ok(encoder.outputNames.includes(name) && decoder.inputNames.includes(name), name);
  }
  const links = cacheFeedback(config);
  assert.equal(links.length, 2 * config.decoderLayers);
  for (const { present, past } of links) {
    assert.ok(decoder.outputNames.includes(present), present);
    assert.ok(decoder.inputNames.includes(past), past);
  }
});
