// The Train form, derived from the contract: which families to offer, which settings each shows,
// their starting values, and the TrainingConfig the form's values make. TrainView only renders this.
import { modelFamilies } from '../../../src-main/shared/api/model-families.js';
import {
  type SettingField,
  settingDefault,
  settingFields,
  type TrainingConfigInput,
  type ValidationSplit,
  withSettings,
} from '../../../src-main/shared/api/training.js';

export type FormValues = Record<string, string | number>;

/** The family the form starts on. */
export const startingFamily = 'env-vae';

export function familyOptions(): { id: string; label: string }[] {
  return modelFamilies.map((f) => ({ id: f.id, label: f.label }));
}

/** The settings the form shows for a family (those meant for the command line only are left out). */
export function formFields(family: string): SettingField[] {
  return settingFields(family).filter((f) => !f.setting.cliOnly);
}

/** Every family's settings at their defaults (the seed's L1000 sizes), with fewer epochs for a first run. */
export function startingValues(): FormValues {
  const values = Object.fromEntries(settingFields().map((f) => [f.key, settingDefault(f.setting) as string | number]));
  return { ...values, epochs: 20 };
}

/** The configuration the form would start: only the chosen family's settings are sent. */
export function formConfig(family: string, values: FormValues, validation: ValidationSplit): TrainingConfigInput {
  return withSettings({ model: { family }, validation }, formFields(family), values) as TrainingConfigInput;
}

/** A stable test id per setting: `hiddenUnits` → `hidden-units`. */
export function fieldTestId(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
