/**
 * The prompt, Draw and Cancel, for the app and (compact) for the embed widget; the settings that
 * shape the drawing live in SettingsPanel (the widget's come from its URL).
 */
import { useEffect, useId, useRef } from 'react';
import type { FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { setPrompt, useAppStore } from './store.ts';

export function PromptForm({
  controller,
  compact = false,
}: {
  readonly controller: Controller;
  /** The widget's one row: the label read out only, and Draw turning into Cancel while drawing. */
  readonly compact?: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const prompt = useAppStore((s) => s.prompt);
  const phase = useAppStore((s) => s.phase);
  const generating = phase === 'generating';
  // The active model's first example prompt, so the hint is something this model can draw.
  const example =
    useAppStore((s) => s.catalog.find((model) => model.id === s.selectedModel)?.examples[0]) ??
    t('prompt.placeholderExample');

  const drawButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const wasGenerating = useRef(generating);
  useEffect(() => {
    if (wasGenerating.current === generating) return;
    wasGenerating.current = generating;
    // The button (or input) that just became disabled dropped the keyboard focus to the page: hand it to the button
    // that now works, so a keyboard user can cancel, or draw again, without searching for it.
    // (Chromium keeps a disabled element as document.activeElement, others move it to the body.)
    const focused = document.activeElement;
    const dropped =
      focused === null ||
      focused === document.body ||
      ((focused instanceof HTMLButtonElement || focused instanceof HTMLInputElement) && focused.disabled);
    if (dropped) (generating ? cancelButton : drawButton).current?.focus({ preventScroll: true });
  }, [generating]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    void controller.draw();
  };

  const input = (
    <input
      id={id}
      data-testid="prompt.input"
      value={prompt}
      placeholder={t('prompt.placeholder', { example })}
      onChange={(e) => setPrompt(e.target.value)}
      disabled={generating}
    />
  );
  const draw = (
    <button ref={drawButton} data-testid="prompt.submit" type="submit" disabled={phase !== 'ready'}>
      {t('prompt.draw')}
    </button>
  );
  const cancel = (
    <button
      ref={cancelButton}
      data-testid="prompt.cancel"
      type="button"
      // The second click of a double-click on Draw lands here in the widget, where Cancel takes Draw's place.
      onClick={(event) => event.detail < 2 && controller.cancel()}
      disabled={!generating}
    >
      {t('prompt.cancel')}
    </button>
  );

  if (compact)
    return (
      <form className="embed-prompt" onSubmit={submit}>
        <label className="visually-hidden" htmlFor={id}>
          {t('prompt.label')}
        </label>
        {input}
        {generating ? cancel : draw}
      </form>
    );
  return (
    <form className="prompt" onSubmit={submit}>
      <label className="prompt-text">
        <span>{t('prompt.label')}</span>
        {input}
      </label>
      {draw}
      {cancel}
    </form>
  );
}
