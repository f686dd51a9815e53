// Settings, loaded when the page opens: theme, the connection and printer, material presets (in the
// daemon's database), cameras, and for admins users, the API key and the config file.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { apiHost } from '../../api/endpoint.ts';
import { linkState, rpc, serverInfo } from '../../api/session.ts';
import { canOperate, isAdmin } from '../../state/auth.ts';
import { heaterLabel, heaterNames, webhooks } from '../../state/printer.ts';
import { setTheme, type ThemeChoice, theme } from '../../state/settings.ts';
import { DEFAULT_PRESETS, type Preset, presets, savePresets } from '../../state/temperatures.ts';
import { ActionButton, Panel } from '../../widgets/common.tsx';
import { Icon } from '../../widgets/icon.tsx';
import { CamerasPanel } from './cameras.tsx';
import { ConfigFilePanel } from './config-file.tsx';
import { MqttPanel } from './mqtt.tsx';
import { ApiKeyPanel, UsersPanel } from './users.tsx';

function PresetForm() {
  const draft = useSignal<Preset[]>(structuredClone(presets.value));
  useEffect(() => {
    draft.value = structuredClone(presets.value);
  }, [presets.value]);
  const heaters = heaterNames.value;
  const update = (index: number, change: (p: Preset) => void) => {
    const next = structuredClone(draft.value);
    change(next[index]!);
    draft.value = next;
  };
  const valid = draft.value.every((p) => p.name.trim() !== '');
  return (
    <Panel title="Temperature presets" icon="thermometer" id="presets">
      <p class="muted">
        Stored in the daemon's database (namespace brim), so every browser sees the same ones.
      </p>
      <table class="preset-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            {heaters.map((h) => (
              <th scope="col" key={h}>
                {heaterLabel(h)} °C
              </th>
            ))}
            <th scope="col">
              <span class="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {draft.value.map((preset, i) => (
            <tr key={i}>
              <td>
                <input
                  type="text"
                  aria-label="Preset name"
                  value={preset.name}
                  onInput={(e) => update(i, (p) => (p.name = (e.target as HTMLInputElement).value))}
                />
              </td>
              {heaters.map((h) => (
                <td key={h}>
                  <input
                    type="number"
                    min={0}
                    max={400}
                    aria-label={`${preset.name} ${heaterLabel(h)} °C`}
                    value={preset.targets[h] ?? ''}
                    onInput={(e) =>
                      update(i, (p) => {
                        const v = (e.target as HTMLInputElement).value;
                        if (v === '') delete p.targets[h];
                        else p.targets[h] = Number(v);
                      })
                    }
                  />
                </td>
              ))}
              <td>
                <button
                  type="button"
                  class="icon-btn"
                  aria-label={`Remove ${preset.name}`}
                  onClick={() => (draft.value = draft.value.filter((_, j) => j !== i))}
                >
                  <Icon name="trash" />
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button
          type="button"
          class="btn small"
          onClick={() =>
            (draft.value = [...draft.value, { name: 'New', targets: { extruder: 200, heater_bed: 60 } }])
          }
        >
          Add preset
        </button>
        <button
          type="button"
          class="btn small ghost"
          onClick={() => (draft.value = structuredClone(DEFAULT_PRESETS))}
        >
          Defaults
        </button>
        <ActionButton
          class="small"
          variant="primary"
          disabled={!valid}
          action={() => savePresets(draft.value.map((p) => ({ ...p, name: p.name.trim() })))}
          done="Presets saved"
        >
          Save presets
        </ActionButton>
      </div>
    </Panel>
  );
}

export default function SettingsView() {
  const info = serverInfo.value;
  return (
    <div class="grid two">
      <Panel title="Appearance" icon="sun" id="appearance">
        <fieldset class="steps">
          <legend>Theme</legend>
          {(['auto', 'dark', 'light'] as ThemeChoice[]).map((t) => (
            <label key={t} class={`chip ${theme.value === t ? 'on' : ''}`}>
              <input type="radio" name="theme" checked={theme.value === t} onChange={() => setTheme(t)} />
              {t === 'auto' ? 'System' : t === 'dark' ? 'Dark' : 'Light'}
            </label>
          ))}
        </fieldset>
      </Panel>
      <Panel title="Printer" icon="power" id="printer">
        <dl class="facts">
          <div>
            <dt>Daemon</dt>
            <dd>{apiHost}</dd>
          </div>
          <div>
            <dt>Connection</dt>
            <dd>{linkState.value}</dd>
          </div>
          <div>
            <dt>Printer</dt>
            <dd>{webhooks.value?.state_message ?? '–'}</dd>
          </div>
        </dl>
        {info?.warnings?.length ? (
          <ul class="warnings">
            {info.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        ) : null}
        <div class="row">
          <ActionButton
            class="small"
            action={() => rpc.call('printer.restart')}
            confirm={{ title: 'Reconnect to the printer?', confirmLabel: 'Restart' }}
            done="Reconnecting"
          >
            Restart
          </ActionButton>
          <ActionButton
            class="small"
            action={() => rpc.call('printer.firmware_restart')}
            confirm={{
              title: 'Reset the printer board?',
              message: 'A running print stops.',
              confirmLabel: 'Firmware restart',
              danger: true,
            }}
            done="Resetting the board"
          >
            Firmware restart
          </ActionButton>
        </div>
      </Panel>
      {canOperate.value ? (
        <div class="span-all">
          <PresetForm />
        </div>
      ) : null}
      <div class="span-all">
        <CamerasPanel />
      </div>
      {isAdmin.value ? (
        <>
          <UsersPanel />
          <ApiKeyPanel />
          <div class="span-all">
            <MqttPanel />
          </div>
          <div class="span-all">
            <ConfigFilePanel />
          </div>
        </>
      ) : (
        <p class="muted span-all" data-testid="admin-only">
          Users, the API key, MQTT and the config file are managed by an admin.
        </p>
      )}
    </div>
  );
}
