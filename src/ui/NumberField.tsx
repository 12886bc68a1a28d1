/**
 * One numeric setting. While the visitor types, the text is theirs (a half-typed "0." is not
 * rewritten); every valid value goes to the settings at once, an invalid one shows the allowed range.
 */
import { useId, useState } from 'react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { isValidNumber, NUMBER_RULES } from './settings.ts';
import type { NumberSetting } from './settings.ts';
import { setSettings } from './store.ts';

export function NumberField({
  name,
  label,
  hint,
  disabled,
  value,
  children,
}: {
  readonly name: NumberSetting;
  readonly label: string;
  readonly hint: string;
  readonly disabled: boolean;
  /** The value shown while the visitor is not typing. */
  readonly value: number;
  /** More under the hint (where a sampling setting's value comes from). */
  readonly children?: ReactNode;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const rule = NUMBER_RULES[name];
  const text = draft ?? String(value);
  const valid = text.trim() !== '' && isValidNumber(rule, Number(text));
  const range = { min: rule.min, max: rule.max };
  const problem = valid
    ? null
    : rule.integer
      ? t('settings.wholeNumberRange', range)
      : t('settings.numberRange', range);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        data-testid={`settings.${name}`}
        type="number"
        inputMode={rule.integer ? 'numeric' : 'decimal'}
        min={rule.min}
        max={rule.max}
        step={rule.step}
        value={text}
        disabled={disabled}
        aria-invalid={!valid}
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          setDraft(e.target.value);
          const number = Number(e.target.value);
          if (e.target.value.trim() !== '' && isValidNumber(rule, number)) setSettings({ [name]: number });
        }}
        onBlur={() => setDraft(null)}
      />
      <small id={`${id}-hint`} className={problem ? 'hint error' : 'hint'}>
        {problem ?? hint}
      </small>
      {children}
    </div>
  );
}
