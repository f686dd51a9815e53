// MQTT (admins): the broker link's state from server.mqtt.status, and a form that writes the config
// file's [mqtt] table through server.config.save, so the daemon's validator checks it like any edit.
import { useSignal } from '@preact/signals';
import { useEffect, useId } from 'preact/hooks';
import { METHOD_NOT_FOUND, RpcError } from '../../api/rpc.ts';
import { onConnected, rpc } from '../../api/session.ts';
import { loadConfigFile, saveConfigFile, withTable } from '../../state/admin.ts';
import { errorText, toast } from '../../state/toasts.ts';
import { ActionButton, Panel, Spinner } from '../../widgets/common.tsx';

/** server.mqtt.status (server/mqtt/link.ts). */
interface MqttStatus {
  state: string;
  connected: boolean;
  broker: string;
  instance_name: string;
  last_error: string | null;
  reconnect_attempts: number;
  next_retry_s: number | null;
}

type MqttTable = Record<string, string | number | boolean>;

interface Draft {
  address: string;
  port: string;
  username: string;
  password: string;
  instance_name: string;
  enable_home_assistant: boolean;
}

const POLL_MS = 5000;

function draftFrom(table: MqttTable | undefined): Draft {
  return {
    address: String(table?.address ?? ''),
    port: String(table?.port ?? 1883),
    username: String(table?.username ?? ''),
    password: String(table?.password ?? ''),
    instance_name: String(table?.instance_name ?? ''),
    enable_home_assistant: table?.enable_home_assistant !== false,
  };
}

/** The [mqtt] table to write: the keys this form does not show are kept as they are in the file. */
function tableFrom(draft: Draft, written: MqttTable): MqttTable {
  const table: MqttTable = { ...written, address: draft.address.trim(), port: Number(draft.port) };
  const optional = { username: draft.username, password: draft.password, instance_name: draft.instance_name };
  for (const [key, value] of Object.entries(optional)) {
    if (value.trim() !== '') table[key] = value.trim();
    else delete table[key];
  }
  table.enable_home_assistant = draft.enable_home_assistant;
  return table;
}

/** What is wrong with the form before the daemon is asked; null when it can be saved. */
function draftProblem(draft: Draft): string | null {
  if (draft.address.trim() === '') return 'Give the broker’s address';
  const port = Number(draft.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return 'The port must be a whole number from 1 to 65535';
  return null;
}

function StatusLine({ status, off }: { status: MqttStatus | null; off: boolean }) {
  if (off)
    return (
      <p class="muted" data-testid="mqtt-status">
        MQTT is off: the config file has no [mqtt] table.
      </p>
    );
  if (!status)
    return (
      <p class="muted">
        <Spinner /> Asking the daemon…
      </p>
    );
  return (
    <div data-testid="mqtt-status">
      <p>
        <span class={`link-dot ${status.connected ? '' : 'closed'}`} />{' '}
        {status.connected
          ? `Connected to ${status.broker}`
          : `Not connected to ${status.broker} (${status.state})`}
      </p>
      {status.last_error ? (
        <p class="error-text" data-testid="mqtt-error">
          {status.last_error}
          {status.next_retry_s !== null ? ` — trying again in ${Math.ceil(status.next_retry_s)} s` : ''}
        </p>
      ) : null}
    </div>
  );
}

function Field({
  label,
  value,
  onInput,
  numeric = false,
  secret = false,
  placeholder,
}: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** A port is typed as text with a numeric keyboard: draftProblem says what is wrong with it. */
  numeric?: boolean;
  secret?: boolean;
  placeholder?: string;
}) {
  const id = useId();
  const shared = {
    id,
    placeholder,
    value,
    onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <label class="field" htmlFor={id}>
      <span>{label}</span>
      {secret ? (
        // A browser must not fill the broker's login with the user's own.
        <input type="password" autocomplete="new-password" {...shared} />
      ) : (
        <input type="text" autocomplete="off" inputMode={numeric ? 'numeric' : undefined} {...shared} />
      )}
    </label>
  );
}

export function MqttPanel() {
  const status = useSignal<MqttStatus | null>(null);
  const off = useSignal(false);
  const written = useSignal<MqttTable>({});
  const draft = useSignal<Draft>(draftFrom(undefined));
  const loadError = useSignal('');
  const saved = useSignal(false);
  const touched = useSignal(false);

  const loadStatus = async () => {
    try {
      status.value = await rpc.query<MqttStatus>('server.mqtt.status');
      off.value = false;
    } catch (error) {
      if (error instanceof RpcError && error.code === METHOD_NOT_FOUND) off.value = true;
      else loadError.value = errorText(error);
    }
  };
  const loadTable = async () => {
    try {
      const config = await rpc.query<{ orig: Record<string, MqttTable> }>('server.config');
      written.value = config.orig.mqtt ?? {};
      // A reconnect must not throw away what the admin is typing.
      if (!touched.value) draft.value = draftFrom(config.orig.mqtt);
    } catch (error) {
      loadError.value = errorText(error);
    }
  };
  useEffect(() => {
    const stop = onConnected(() => {
      void loadStatus();
      void loadTable();
    });
    const timer = setInterval(() => void loadStatus(), POLL_MS);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, []);

  const write = async (table: MqttTable | null) => {
    const file = await loadConfigFile();
    const result = await saveConfigFile(withTable(file.exists ? file.text : '', 'mqtt', table));
    if (!result.saved) throw new Error(result.problems.map((p) => p.message).join('; '));
    written.value = table ?? {};
    saved.value = true;
    toast(`Saved [mqtt] in ${result.filename}; restart Brim to use it`, 'success');
  };

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => {
    touched.value = true;
    draft.value = { ...draft.value, [key]: value };
  };
  const problem = draftProblem(draft.value);
  const configured = Object.keys(written.value).length > 0;
  return (
    <Panel title="MQTT and Home Assistant" icon="power" id="mqtt">
      <StatusLine status={status.value} off={off.value} />
      {loadError.value ? (
        <p class="error-text" role="alert">
          {loadError.value}
        </p>
      ) : null}
      <form class="camera-form" aria-label="MQTT broker" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Broker address"
          value={draft.value.address}
          placeholder="mqtt.local or mqtt://host"
          onInput={(v) => set('address', v)}
        />
        <Field label="Port" numeric value={draft.value.port} onInput={(v) => set('port', v)} />
        <Field label="Username" value={draft.value.username} onInput={(v) => set('username', v)} />
        <Field label="Password" secret value={draft.value.password} onInput={(v) => set('password', v)} />
        <Field
          label="Instance name"
          value={draft.value.instance_name}
          placeholder="the host name"
          onInput={(v) => set('instance_name', v)}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={draft.value.enable_home_assistant}
            onChange={(e) => set('enable_home_assistant', e.currentTarget.checked)}
          />
          Home Assistant discovery
        </label>
        {problem ? (
          <p class="muted" data-testid="mqtt-problem">
            {problem}
          </p>
        ) : null}
        <div class="row">
          <ActionButton
            variant="primary"
            disabled={problem !== null}
            action={() => write(tableFrom(draft.value, written.value))}
          >
            Save to the config file
          </ActionButton>
          {configured ? (
            <ActionButton
              confirm={{
                title: 'Turn MQTT off?',
                message: 'The [mqtt] table is removed from the config file.',
              }}
              action={() => write(null)}
            >
              Turn off
            </ActionButton>
          ) : null}
        </div>
        {saved.value ? (
          <p class="muted" data-testid="mqtt-saved">
            Saved. The change takes effect when Brim restarts (see the config file panel).
          </p>
        ) : null}
      </form>
    </Panel>
  );
}
