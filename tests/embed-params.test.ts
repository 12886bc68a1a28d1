/** The embed widget's URL parameters and the snippet the app's Embed button writes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEmbedOptions } from '../src/ui/embed/embed-params.ts';
import { embedUrl, iframeSnippet } from '../src/ui/embed/embed-snippet.ts';

void test('no parameters: four images, random seeds, the system theme, no trusted parent', () => {
  assert.deepEqual(readEmbedOptions(''), {
    prompt: '',
    count: 4,
    seed: null,
    theme: 'auto',
    trustedOrigins: [],
    problems: [],
  });
});

void test('every parameter is read; origins may repeat or be comma separated', () => {
  const options = readEmbedOptions(
    '?model=demo&backend=wasm&prompt=a%20red%20apple&images=9&seed=42&theme=dark&origins=https://a.example,https://b.example&origins=http://localhost:8080',
  );
  assert.deepEqual(options, {
    model: 'demo',
    backend: 'wasm',
    prompt: 'a red apple',
    count: 9,
    seed: 42,
    theme: 'dark',
    trustedOrigins: ['https://a.example', 'https://b.example', 'http://localhost:8080'],
    problems: [],
  });
  assert.equal(readEmbedOptions('?seed=random').seed, null);
});

void test('a value the widget cannot use is reported in words and the default is used', () => {
  const options = readEmbedOptions('?images=12&seed=-3&theme=blue&backend=cuda&origins=*,https://ok.example');
  assert.equal(options.count, 4);
  assert.equal(options.seed, null);
  assert.equal(options.theme, 'auto');
  assert.equal(options.backend, undefined);
  assert.deepEqual(options.trustedOrigins, ['https://ok.example']);
  const text = options.problems.join('\n');
  for (const part of ['images=12', 'seed=', 'theme=blue', '?backend=cuda', '"*" is not an exact origin'])
    assert.ok(text.includes(part), part);
  assert.match(readEmbedOptions(`?prompt=${'x'.repeat(2100)}`).problems[0]!, /cut to 2000/);
});

void test('the snippet: embed.html beside the app, only non-default settings, attribute-safe, lazy', () => {
  const url = embedUrl('https://draw.example/app/?prompt=x', {
    model: 'demo',
    prompt: ' a "quoted" <b> & co ',
    count: 4,
    seed: 7,
    theme: 'auto',
  });
  assert.equal(url, 'https://draw.example/app/embed.html?model=demo&prompt=a+%22quoted%22+%3Cb%3E+%26+co&seed=7');
  assert.equal(
    embedUrl('https://draw.example/', { model: null, prompt: '', count: 2, seed: null, theme: 'dark' }),
    'https://draw.example/embed.html?images=2&theme=dark',
  );
  const snippet = iframeSnippet('https://draw.example/embed.html?a=1&b="2"', 'Draw & "see"');
  assert.match(snippet, /^<iframe src="https:\/\/draw\.example\/embed\.html\?a=1&amp;b=&quot;2&quot;" /);
  assert.match(snippet, / title="Draw &amp; &quot;see&quot;" /);
  assert.match(snippet, /loading="lazy"/);
  assert.match(snippet, /allow="cross-origin-isolated"/);
  // The widget reads back what the snippet wrote.
  const back = readEmbedOptions(new URL(url).search);
  assert.equal(back.prompt, 'a "quoted" <b> & co');
  assert.equal(back.seed, 7);
});
