/**
 * The parameter panel: one widget per parameter (text, number, date, date range, date-time, select,
 * multi-select as a list of checkboxes, checkbox, comma list), required marks, per-field errors, and
 * the Query button. A change is reported with `commit` when the panel should be asked again
 * (cascading options): at once for choices, when leaving the field for typed text.
 */
import { type FormEvent, type ReactNode } from 'react';
import { localized, useI18n } from '../i18n';
import { widgetOf } from '../params';
import type { PanelParameter, Value, Values } from '../types';

export interface ParameterPanelProps {
  parameters: PanelParameter[];
  values: Values;
  /** Per-field error messages by parameter name. */
  errors: Record<string, string>;
  running: boolean;
  onChange(name: string, value: Value, commit: boolean): void;
  onCommit(name: string): void;
  onSubmit(): void;
}

function Field({ p, error, children, group }: { p: PanelParameter; error?: string; children: ReactNode; group?: boolean }) {
  const { lang, t } = useI18n();
  const label = localized(p.label, lang, p.name);
  const mark = p.required ? (
    <span className="req" aria-hidden="true" title={t('report.required')}>
      *
    </span>
  ) : null;
  const errorEl = error ? (
    <span className="field-error" id={`param-${p.name}-error`} role="alert" data-testid={`error-${p.name}`}>
      {error}
    </span>
  ) : null;
  const cls = `field${error ? ' invalid' : ''}`;
  if (group) {
    return (
      <fieldset className={cls} data-param={p.name}>
        <legend className="field-label">
          {label}
          {mark}
        </legend>
        {children}
        {errorEl}
      </fieldset>
    );
  }
  return (
    <div className={cls} data-param={p.name}>
      <label htmlFor={`param-${p.name}`}>
        <span className="field-label">{label}</span>
        {mark}
      </label>
      {children}
      {errorEl}
    </div>
  );
}

export function ParameterPanel({ parameters, values, errors, running, onChange, onCommit, onSubmit }: ParameterPanelProps) {
  const { t } = useI18n();

  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit();
  }

  return (
    <form className="panel" onSubmit={submit} noValidate aria-label={t('report.parameters')} data-testid="panel">
      {parameters.length === 0 ? (
        <p className="muted">{t('report.noParameters')}</p>
      ) : (
        <div className="panel-fields">
          {parameters.map((p) => {
            const kind = widgetOf(p);
            const v = values[p.name] ?? null;
            const error = errors[p.name];
            const common = {
              id: `param-${p.name}`,
              name: p.name,
              'aria-required': p.required || undefined,
              'aria-invalid': error ? true : undefined,
              'aria-describedby': error ? `param-${p.name}-error` : undefined,
            };
            const str = typeof v === 'string' ? v : '';
            const list = Array.isArray(v) ? v : [];
            switch (kind) {
              case 'select':
                return (
                  <Field key={p.name} p={p} error={error}>
                    <select {...common} value={str} onChange={(e) => onChange(p.name, e.target.value, true)}>
                      <option value="">{t('report.choose')}</option>
                      {p.options!.map((o, i) => (
                        <option key={i} value={o.value === null ? '' : String(o.value)}>
                          {o.label}
                        </option>
                      ))}
                    </select>
                  </Field>
                );
              case 'multiselect':
                return (
                  <Field key={p.name} p={p} error={error} group>
                    <div className="checks" role="group" aria-invalid={error ? true : undefined}>
                      {p.options!.map((o, i) => {
                        const value = o.value === null ? '' : String(o.value);
                        return (
                          <label key={i}>
                            <input
                              type="checkbox"
                              name={p.name}
                              value={value}
                              checked={list.includes(value)}
                              onChange={(e) => onChange(p.name, e.target.checked ? [...list, value] : list.filter((x) => x !== value), true)}
                            />
                            {o.label}
                          </label>
                        );
                      })}
                    </div>
                  </Field>
                );
              case 'checkbox':
                return (
                  <Field key={p.name} p={p} error={error}>
                    <span className="checkbox">
                      <input {...common} type="checkbox" checked={v === true} onChange={(e) => onChange(p.name, e.target.checked, true)} />
                    </span>
                  </Field>
                );
              case 'daterange': {
                const [from = '', to = ''] = list;
                return (
                  <Field key={p.name} p={p} error={error} group>
                    <span className="range">
                      <input type="date" name={p.name} aria-label={t('report.from')} value={from} onChange={(e) => onChange(p.name, [e.target.value, to], true)} />
                      <span aria-hidden="true">–</span>
                      <input type="date" name={p.name} aria-label={t('report.to')} value={to} onChange={(e) => onChange(p.name, [from, e.target.value], true)} />
                    </span>
                  </Field>
                );
              }
              case 'date':
              case 'datetime':
                return (
                  <Field key={p.name} p={p} error={error}>
                    <input {...common} type={kind === 'date' ? 'date' : 'datetime-local'} value={str} onChange={(e) => onChange(p.name, e.target.value, true)} />
                  </Field>
                );
              default:
                // Numbers are typed as text (a numeric keypad on phones) so a wrong entry reaches the server's check and shows its message.
                return (
                  <Field key={p.name} p={p} error={error}>
                    <input
                      {...common}
                      type="text"
                      inputMode={kind === 'number' ? 'decimal' : undefined}
                      autoComplete="off"
                      value={str}
                      onChange={(e) => onChange(p.name, e.target.value, false)}
                      onBlur={() => onCommit(p.name)}
                    />
                    {kind === 'list' && <span className="hint">{t('report.listHint')}</span>}
                  </Field>
                );
            }
          })}
        </div>
      )}
      <div className="panel-actions">
        <button type="submit" className="primary" disabled={running} data-testid="query">
          {running ? t('report.running') : t('report.query')}
        </button>
      </div>
    </form>
  );
}
