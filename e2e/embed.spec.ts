/**
 * The embed widget in a cross-site iframe, as a blog embeds it: the blog on 127.0.0.1, the widget
 * on localhost (another site, so its storage is third-party and it runs from memory), and a third
 * site framed beside it that tries the postMessage API too.
 */
import type { Frame, Page } from '@playwright/test';
import { passThrough, servePage, widgetUrl } from './embed-page.ts';
import { EMBED_API } from '../src/ui/embed/embed-api.ts';
import type { WidgetMessage } from '../src/ui/embed/embed-api.ts';
import { expect, test } from './app-page.ts';

const INTRUDER = 'http://intruder.test';

declare global {
  interface Window {
    /** What the blog page received from the widget. */
    __fromWidget?: WidgetMessage[];
  }
}

async function widgetFrame(page: Page): Promise<Frame> {
  await expect.poll(() => page.frames().some((f) => f.url().includes('/embed.html'))).toBe(true);
  return page.frames().find((f) => f.url().includes('/embed.html'))!;
}

test('the widget in a cross-site iframe draws, answers the trusted parent and ignores another site', async ({
  page,
  baseURL,
}, testInfo) => {
  const blog = new URL(baseURL!).origin;
  const widgetOrigin = new URL(widgetUrl(baseURL!, '')).origin;
  const src = widgetUrl(baseURL!, `backend=wasm&images=1&seed=3&prompt=a%20red%20apple&origins=${blog}`);
  const warnings: string[] = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await servePage(
    page,
    `${blog}/blog.html`,
    `<h1>A blog post</h1>
     <iframe id="widget" title="DALL·E Mini" src="${src}" width="400" height="720" style="border:0"></iframe>
     <iframe id="intruder" title="another site" src="${INTRUDER}/intruder.html" width="10" height="10"></iframe>
     <script>
       window.__fromWidget = [];
       addEventListener('message', (e) => e.origin === '${widgetOrigin}' && window.__fromWidget.push(e.data));
     </script>`,
  );
  await servePage(page, `${INTRUDER}/intruder.html`, '<p>another site</p>');
  await passThrough(page, baseURL!);
  await page.goto('./blog.html');
  const widget = page.frameLocator('#widget');
  const received = (): Promise<WidgetMessage[]> => page.evaluate(() => window.__fromWidget ?? []);

  await test.step('storage is blocked in the frame: it runs from memory, says so, offers the full page', async () => {
    await expect(widget.getByTestId('embed.storage')).toContainText('Runs from memory', { timeout: 60_000 });
    // With the prompt as typed: the visitor loses nothing by going there.
    await expect(widget.getByRole('link', { name: 'Open the full page' })).toHaveAttribute(
      'href',
      `${widgetOrigin}/?prompt=a+red+apple`,
    );
  });

  await test.step('the model loads on one WASM thread (the blog is not cross-origin isolated) and says ready', async () => {
    await expect(widget.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
    await expect(widget.getByTestId('status.backend')).toContainText(
      '1 thread (the page is not cross-origin isolated)',
    );
    expect(await (await widgetFrame(page)).evaluate(() => crossOriginIsolated)).toBe(false);
    await expect.poll(async () => (await received()).map((m) => m.type)).toContain('ready');
  });

  await test.step('a visitor draws with the preset prompt', async () => {
    await expect(widget.getByTestId('prompt.input')).toHaveValue('a red apple');
    await widget.getByTestId('prompt.submit').click();
    await expect(widget.getByTestId('status.progress')).toContainText('Done', { timeout: 120_000 });
    await expect(widget.getByTestId('grid.image')).toHaveCount(1);
    await page.locator('#widget').screenshot({ path: testInfo.outputPath('embed-widget.png') });
  });

  await test.step('generate from the trusted blog: progress, then a 256×256 PNG', async () => {
    await page.evaluate(
      ([api, origin]) =>
        document
          .querySelector<HTMLIFrameElement>('#widget')!
          .contentWindow!.postMessage({ api, type: 'generate', id: 'p1', prompt: 'a blue boat', seed: 7 }, origin),
      [EMBED_API, widgetOrigin] as const,
    );
    await expect.poll(async () => (await received()).some((m) => m.type === 'result'), { timeout: 120_000 }).toBe(true);
    const messages = (await received()).filter((m) => 'id' in m && m.id === 'p1');
    const progress = messages.filter((m) => m.type === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((m) => m.type === 'progress' && m.fraction >= 0 && m.fraction <= 1)).toBe(true);
    const result = messages.at(-1)!;
    expect(result.type).toBe('result');
    if (result.type !== 'result') return;
    expect(result.seed).toBe(7);
    expect(result.images).toHaveLength(1);
    const png = result.images[0] as string;
    expect(png.startsWith('data:image/png;base64,')).toBe(true);
    const size = await page.evaluate(async (url) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      return [image.naturalWidth, image.naturalHeight];
    }, png);
    expect(size).toEqual([256, 256]);
    await expect(widget.getByTestId('prompt.input')).toHaveValue('a blue boat');
  });

  await test.step('the same message from another site is ignored: nothing drawn, nothing sent', async () => {
    const intruder = page.frames().find((f) => f.url().startsWith(INTRUDER))!;
    const before = (await received()).length;
    await intruder.evaluate(
      (api) =>
        parent.frames[0]!.postMessage({ api, type: 'generate', id: 'x1', prompt: 'something else', seed: 1 }, '*'),
      EMBED_API,
    );
    await expect.poll(() => warnings.join('\n')).toContain(`ignored a message from ${INTRUDER}`);
    expect((await received()).length).toBe(before);
    await expect(widget.getByTestId('prompt.input')).toHaveValue('a blue boat');
    await expect(widget.getByTestId('prompt.submit')).toBeEnabled();
  });

  await test.step('asking for storage access ends in an honest answer, and the widget keeps working', async () => {
    await widget.getByTestId('embed.storage-access').click();
    await expect(
      widget.getByTestId('embed.storage-refused').or(widget.getByTestId('embed.storage-partitioned')),
    ).toBeVisible({
      timeout: 60_000,
    });
    await expect(widget.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
  });
});

test('inside a cross-origin-isolated parent the widget loads, isolated too, with WASM threads allowed, in Chinese', async ({
  page,
  baseURL,
}) => {
  const blog = new URL(baseURL!).origin;
  await servePage(
    page,
    `${blog}/isolated-blog.html`,
    `<iframe title="DALL·E Mini" src="${widgetUrl(baseURL!, 'backend=wasm&lang=zh-CN')}" allow="cross-origin-isolated" width="400" height="720"></iframe>`,
    { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  );
  await passThrough(page, baseURL!);
  await page.goto('./isolated-blog.html');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const widget = page.frameLocator('iframe');
  await expect(widget.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
  expect(await (await widgetFrame(page)).evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(widget.getByTestId('status.backend')).not.toContainText('not cross-origin isolated');
  // The widget speaks the page's languages too (?lang=, else the browser's).
  await expect(widget.getByTestId('prompt.submit')).toHaveText('生成');
});
