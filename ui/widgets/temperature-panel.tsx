// Temperatures: the chart, each heater's reading, target and power, target entry and material presets.
import { useSignal } from '@preact/signals';
import { connected, rpc } from '../api/session.ts';
import { temperature } from '../format.ts';
import { canOperate } from '../state/auth.ts';
import {
  configfile,
  type HeaterStatus,
  heaterLabel,
  heaterNames,
  printerObject,
  sensorNames,
} from '../state/printer.ts';
import { applyPreset, presets, targetScript } from '../state/temperatures.ts';
import { perform } from '../state/toasts.ts';
import { ActionButton, Panel } from './common.tsx';
import { colourFor, TemperatureChart } from './temperature-chart.tsx';

function maxTemp(name: string): number {
  const section = configfile.value?.settings?.[name];
  const value = section?.max_temp;
  return typeof value === 'number' ? value : name === 'heater_bed' ? 130 : 300;
}

function HeaterRow({ name, index, heater }: { name: string; index: number; heater: boolean }) {
  const status = printerObject<HeaterStatus>(name).value;
  const draft = useSignal('');
  const sending = useSignal(false);
  const id = `target-${name.replace(/\W/g, '-')}`;
  const submit = async (target: number) => {
    if (!Number.isFinite(target)) return;
    sending.value = true;
    const ok = await perform(
      () => rpc.call('printer.gcode.script', { script: targetScript(name, target) }),
      `${heaterLabel(name)} target ${Math.round(target)}°`,
    );
    sending.value = false;
    if (ok) draft.value = '';
  };
  const power = typeof status?.power === 'number' ? status.power : null;
  return (
    <tr data-heater={name}>
      <th scope="row">
        <span class="swatch" style={{ background: colourFor(index) }} />
        {heaterLabel(name)}
      </th>
      <td class="num" data-testid={`temp-${name}`}>
        {temperature(status?.temperature)}
      </td>
      <td>
        {heater && canOperate.value ? (
          <form
            class="target-form"
            onSubmit={(e) => {
              e.preventDefault();
              void submit(Number(draft.value));
            }}
          >
            <label class="sr-only" for={id}>
              {heaterLabel(name)} target °C
            </label>
            <input
              id={id}
              type="number"
              inputMode="numeric"
              min={0}
              max={maxTemp(name)}
              step={1}
              placeholder={String(status?.target ?? 0)}
              value={draft.value}
              onInput={(e) => {
                draft.value = (e.target as HTMLInputElement).value;
              }}
              disabled={!connected.value || sending.value}
            />
            <button
              type="submit"
              class="btn small"
              disabled={!connected.value || sending.value || draft.value === ''}
            >
              Set
            </button>
            <button
              type="button"
              class="btn small ghost"
              aria-label={`${heaterLabel(name)} off`}
              disabled={!connected.value || sending.value || !status?.target}
              onClick={() => void submit(0)}
            >
              Off
            </button>
          </form>
        ) : heater ? null : (
          <span class="muted">sensor</span>
        )}
      </td>
      <td class="num muted" data-testid={`target-${name}`}>
        {heater ? `${Math.round(status?.target ?? 0)}°` : ''}
      </td>
      <td class="power-cell">
        {power !== null ? (
          <span class="power" title={`Power ${Math.round(power * 100)}%`}>
            <span style={{ width: `${Math.round(power * 100)}%` }} />
          </span>
        ) : null}
      </td>
    </tr>
  );
}

export function TemperaturePanel() {
  const heaters = heaterNames.value;
  const sensors = [...heaters, ...sensorNames.value];
  return (
    <Panel
      title="Temperatures"
      icon="thermometer"
      id="temperatures"
      actions={
        <ActionButton
          class="small"
          variant="ghost"
          action={() => rpc.call('printer.gcode.script', { script: 'TURN_OFF_HEATERS' })}
          done="Heaters off"
        >
          Cool down
        </ActionButton>
      }
    >
      {canOperate.value ? (
        <fieldset class="presets bare" aria-label="Material presets">
          {presets.value.map((preset) => (
            <ActionButton
              key={preset.name}
              class="small"
              action={() => applyPreset(preset)}
              done={`${preset.name}: ${Object.entries(preset.targets)
                .map(([h, t]) => `${heaterLabel(h)} ${t}°`)
                .join(', ')}`}
              title={Object.entries(preset.targets)
                .map(([h, t]) => `${heaterLabel(h)} ${t}°`)
                .join(', ')}
            >
              {preset.name}
            </ActionButton>
          ))}
          <a class="btn small ghost" href="/settings#presets">
            Edit…
          </a>
        </fieldset>
      ) : null}
      <table class="heaters">
        <thead>
          <tr>
            <th scope="col">Heater</th>
            <th scope="col" class="num">
              Now
            </th>
            <th scope="col">Set target</th>
            <th scope="col" class="num">
              Target
            </th>
            <th scope="col">
              <span class="sr-only">Power</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sensors.map((name, i) => (
            <HeaterRow key={name} name={name} index={i} heater={heaters.includes(name)} />
          ))}
        </tbody>
      </table>
      <TemperatureChart sensors={sensors} />
    </Panel>
  );
}
