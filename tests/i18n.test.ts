/** The page's languages: every message exists in each language with the same placeholders, and the language is detected as promised. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectLanguage, matchLanguage } from '../src/ui/i18n.ts';
import en from '../src/ui/locales/en.json';
import zhCN from '../src/ui/locales/zh-CN.json';

type Messages = { readonly [key: string]: string | Messages };

/** "group.key" → text, for every message. */
function flatten(messages: Messages, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') out.set(prefix + key, value);
    else for (const [k, v] of flatten(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string): string[] => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!).sort();

/** Plural forms ("key_one", "key_other") as one message: languages have different sets (Chinese only "other"). */
function withoutPlurals(messages: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, text] of messages) {
    const base = key.replace(/_(zero|one|two|few|many|other)$/, '');
    if (!out.has(base) || key.endsWith('_other')) out.set(base, text);
  }
  return out;
}

void test('Simplified Chinese has every English message, with the same placeholders, and nothing else', () => {
  const english = withoutPlurals(flatten(en));
  const chinese = withoutPlurals(flatten(zhCN));
  assert.deepEqual([...chinese.keys()].sort(), [...english.keys()].sort());
  for (const [key, text] of english) {
    assert.deepEqual(placeholders(chinese.get(key)!), placeholders(text), key);
    assert.ok(chinese.get(key)!.trim() !== '', key);
  }
});

void test('the language comes from ?lang=, then the stored choice, then the browser, else English', () => {
  assert.equal(matchLanguage('zh-TW'), 'zh-CN');
  assert.equal(matchLanguage('zh_Hans_CN'), 'zh-CN');
  assert.equal(matchLanguage('en-GB'), 'en');
  assert.equal(matchLanguage('de'), null);
  assert.equal(detectLanguage('?lang=zh-CN', 'en', ['en-US']), 'zh-CN');
  assert.equal(detectLanguage('?lang=xx', 'zh-CN', ['en-US']), 'zh-CN');
  assert.equal(detectLanguage('', null, ['de-DE', 'zh-CN', 'en']), 'zh-CN');
  assert.equal(detectLanguage('', null, ['fr']), 'en');
});
