/** The embed widget's URL parameters and the snippet the app's Embed button writes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEmbedOptions } from '../src/ui/embed/embed-params.ts';
import { embedUrl, iframeSnippet } from '../src/ui/embed/embed-snippet.ts';

void test('no parameters: four images, random seeds, the system theme, no trusted parent', () => {
  assert.deepEqual(readEmbedOptions(''), {
    prompt: '',
    settings: { count: 4 },
    theme: 'auto',
    trustedOrigins: [],
    problems: [],
  });
});

void test("the share link's parameters, plus theme and origins (repeated or comma separated)", () => {
  const options = readEmbedOptions(
    '?model=demo&backend=wasm&prompt=a%20red%20apple&images=9&seed=42&top_k=20&theme=dark&origins=https://a.example,https://b.example&origins=http://localhost:8080',
  );
  assert.deepEqual(options, {
    model: 'demo',
    backend: 'wasm',
    prompt: 'a red apple',
    settings: { count: 9, seedText: '42', seedLocked: true, topK: 20 },
    theme: 'dark',
    trustedOrigins: ['https://a.example', 'https://b.example', 'http://localhost:8080'],
    problems: [],
  });
});

void test('a value the widget cannot use is reported in words and the default is used', () => {
  const options = readEmbedOptions('?images=12&seed=-3&theme=blue&backend=cuda&origins=*,https://ok.example&lang=fr');
  assert.deepEqual(options.settings, { count: 4 });
  assert.equal(options.theme, 'auto');
  assert.equal(options.backend, undefined);
  assert.deepEqual(options.trustedOrigins, ['https://ok.example']);
  const text = options.problems.join('\n');
  for (const part of ['images', 'seed', 'theme=blue', 'cuda', '"*" is not an exact origin', 'lang=fr'])
    assert.ok(text.includes(part), part);
});

void test('the snippet: embed.html beside the app with the share link parameters, attribute-safe, lazy', () => {
  const sampling = { conditionScale: 3, topK: 50, topP: 0.9, temperature: 1 };
  const url = embedUrl('https://draw.example/app/?prompt=x', {
    model: 'demo',
    prompt: ' a "quoted" <b> & co ',
    count: 4,
    seed: 7,
    sampling,
    theme: 'auto',
  });
  assert.equal(new URL(url).pathname, '/app/embed.html');
  // The widget reads back what the snippet wrote.
  const back = readEmbedOptions(new URL(url).search);
  assert.deepEqual(back, {
    model: 'demo',
    prompt: 'a "quoted" <b> & co',
    settings: { count: 4, seedText: '7', seedLocked: true, ...sampling },
    theme: 'auto',
    trustedOrigins: [],
    problems: [],
  });
  const random = new URL(
    embedUrl('https://draw.example/', { model: null, prompt: '', count: 2, seed: null, sampling, theme: 'dark' }),
  );
  assert.equal(random.searchParams.get('seed'), null);
  assert.equal(random.searchParams.get('prompt'), null);
  assert.equal(random.searchParams.get('theme'), 'dark');

  const snippet = iframeSnippet('https://draw.example/embed.html?a=1&b="2"', 'Draw & "see"');
  assert.match(snippet, /^<iframe src="https:\/\/draw\.example\/embed\.html\?a=1&amp;b=&quot;2&quot;" /);
  assert.match(snippet, / title="Draw &amp; &quot;see&quot;" /);
  assert.match(snippet, /loading="lazy"/);
  assert.match(snippet, /allow="cross-origin-isolated; clipboard-write"/);
});

void test('a ranked share link in the widget is reported: it would draw other pictures than the link', () => {
  const options = readEmbedOptions('?prompt=a+fox&seed=3&rank=on&candidates=16');
  assert.match(options.problems.join('\n'), /does not rank/);
  assert.deepEqual(readEmbedOptions('?prompt=a+fox&seed=3&rank=off').problems, []);
});
