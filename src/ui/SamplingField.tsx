/**
 * One sampling setting: shows the value the next drawing uses, says when it is the active model's suggestion, and
 * offers to go back to following the model once the visitor has typed their own (sampling-choice.ts).
 */
import { useTranslation } from 'react-i18next';
import { NumberField } from './NumberField.tsx';
import { activeModel, fallbackValue, samplingSource } from './sampling-choice.ts';
import type { SamplingKey } from './sampling-choice.ts';
import { setSettings, useAppStore } from './store.ts';

export function SamplingField({
  name,
  label,
  hint,
  disabled,
}: {
  readonly name: SamplingKey;
  readonly label: string;
  readonly hint: string;
  readonly disabled: boolean;
}) {
  const { t } = useTranslation();
  const choice = useAppStore((s) => s.settings);
  const model = useAppStore(activeModel);
  const source = samplingSource(choice, model, name);
  const fallback = fallbackValue(model, name);
  const suggested = model?.sampling[name] !== undefined;
  return (
    <NumberField name={name} label={label} hint={hint} disabled={disabled} value={choice[name] ?? fallback}>
      {source === 'model' && model && (
        <small className="hint" data-testid={`settings.${name}.suggested`}>
          {t('settings.suggestedBy', { model: model.name })}
        </small>
      )}
      {source === 'chosen' && choice[name] !== fallback && (
        <button
          type="button"
          className="link-button"
          data-testid={`settings.${name}.follow`}
          disabled={disabled}
          onClick={() => setSettings({ [name]: null })}
        >
          {suggested && model
            ? t('settings.useSuggested', { model: model.name, value: fallback })
            : t('settings.useDefault', { value: fallback })}
        </button>
      )}
    </NumberField>
  );
}
