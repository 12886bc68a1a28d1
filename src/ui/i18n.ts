/**
 * The page's languages: English and Simplified Chinese, every string in locales/*.json. The
 * language comes from `?lang=`, else the visitor's earlier choice, else the browser's languages
 * (any Chinese → Simplified Chinese); the switch in the page stores the choice. Code outside React
 * (controller, actions) translates with `t` from here; components use react-i18next's hooks.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.json';
import zhCN from './locales/zh-CN.json';
import { argumentsAgain, remember } from './said-again.ts';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Each language named in itself, for the switch. */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = { en: 'English', 'zh-CN': '简体中文' };

const STORAGE_KEY = 'dalle-mini:language';

declare module 'i18next' {
  interface CustomTypeOptions {
    resources: { translation: typeof en };
  }
}

/** A BCP 47 tag → one of ours, or null: "zh", "zh-Hans-CN", "zh-TW" → zh-CN; "en-GB" → en. */
export function matchLanguage(tag: string): Language | null {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  if (primary === 'zh') return 'zh-CN';
  if (primary === 'en') return 'en';
  return null;
}

function storedChoice(): string | null {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null; // Storage refused (a sandboxed or third-party frame): the browser's language decides.
  }
}

/** The first language that matches: the URL's, the stored choice, then the browser's in order of preference. */
export function detectLanguage(search: string, stored: string | null, browser: readonly string[]): Language {
  const candidates = [new URLSearchParams(search).get('lang'), stored, ...browser];
  for (const tag of candidates) {
    const match = tag ? matchLanguage(tag) : null;
    if (match) return match;
  }
  return 'en';
}

function browserLanguages(): readonly string[] {
  const nav = globalThis.navigator as Navigator | undefined;
  return nav?.languages ?? (nav?.language ? [nav.language] : []);
}

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
  lng: detectLanguage(globalThis.location?.search ?? '', storedChoice(), browserLanguages()),
  fallbackLng: 'en',
  supportedLngs: LANGUAGES,
  // React escapes what it renders; escaping here too would show "&quot;" in messages.
  interpolation: { escapeValue: false },
  initAsync: false,
});

const translate = i18n.t.bind(i18n);
type AnyTranslate = (...args: unknown[]) => unknown;

function rememberingTranslate(...args: unknown[]): unknown {
  const text = (translate as unknown as AnyTranslate)(...args);
  if (typeof text === 'string') remember(text, () => String(rememberingTranslate(...argumentsAgain(args))));
  return text;
}

/**
 * Bound, so it can be passed around and imported alone; it remembers how it made each text, so that the messages the
 * stores hold can be said again after a switch of language (said-again.ts).
 */
export const t = rememberingTranslate as unknown as typeof translate;

export function currentLanguage(): Language {
  return matchLanguage(i18n.language) ?? 'en';
}

function showLanguage(language: Language): void {
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}
showLanguage(currentLanguage());

export function setLanguage(language: Language): void {
  void i18n.changeLanguage(language);
  showLanguage(language);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, language);
  } catch {
    // Not stored: the choice lasts for this visit.
  }
}
