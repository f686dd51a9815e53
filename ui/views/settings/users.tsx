// Users and the API key, for admins: list, add with a role, delete, set a password; show and regenerate the key.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { onConnected } from '../../api/session.ts';
import { dateTime } from '../../format.ts';
import {
  addUser,
  apiKey,
  deleteUser,
  loadApiKey,
  loadUsers,
  ROLES,
  regenerateApiKey,
  setPassword,
  users,
  usersError,
} from '../../state/admin.ts';
import { type Role, user } from '../../state/auth.ts';
import { perform, toast } from '../../state/toasts.ts';
import { ActionButton, Empty, Panel, Spinner } from '../../widgets/common.tsx';

/** The server's minimum (server/auth/users.ts); checked here too so the button says why it is off. */
const MIN_PASSWORD_LENGTH = 8;

function AddUserForm() {
  const username = useSignal('');
  const password = useSignal('');
  const role = useSignal<Role>('operator');
  const ready = username.value.trim() !== '' && password.value.length >= MIN_PASSWORD_LENGTH;
  return (
    <form class="inline-form" aria-label="Add a user" onSubmit={(e) => e.preventDefault()}>
      <label class="field">
        <span>Username</span>
        <input
          type="text"
          autocomplete="off"
          value={username.value}
          onInput={(e) => (username.value = e.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span>Password (at least {MIN_PASSWORD_LENGTH} characters)</span>
        <input
          type="password"
          autocomplete="new-password"
          value={password.value}
          onInput={(e) => (password.value = e.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span>Role</span>
        <select value={role.value} onChange={(e) => (role.value = e.currentTarget.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <ActionButton
        type="submit"
        variant="primary"
        disabled={!ready}
        action={async () => {
          const name = username.value.trim();
          await addUser(name, password.value, role.value);
          toast(`User ${name} added as ${role.value}`, 'success');
          username.value = '';
          password.value = '';
        }}
      >
        Add user
      </ActionButton>
    </form>
  );
}

function PasswordForm({ username, onDone }: { username: string; onDone: () => void }) {
  const password = useSignal('');
  const self = user.value?.username === username;
  return (
    <form
      class="inline-form"
      aria-label={`New password for ${username}`}
      onSubmit={(e) => e.preventDefault()}
    >
      <label class="field">
        <span>New password for {username}</span>
        <input
          type="password"
          autocomplete="new-password"
          value={password.value}
          onInput={(e) => (password.value = e.currentTarget.value)}
        />
      </label>
      <ActionButton
        type="submit"
        variant="primary"
        disabled={password.value.length < MIN_PASSWORD_LENGTH}
        confirm={
          self
            ? {
                title: 'Change your own password?',
                message: 'Every login of yours ends, this one too: you log in again with the new password.',
                confirmLabel: 'Change password',
              }
            : undefined
        }
        action={async () => {
          await setPassword(username, password.value);
          onDone();
        }}
        done={`Password of ${username} changed; their other logins have ended`}
      >
        Set password
      </ActionButton>
      <button type="button" class="btn ghost" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

export function UsersPanel() {
  const editing = useSignal<string | null>(null);
  useEffect(() => onConnected(() => void loadUsers()), []);
  const list = users.value;
  const me = user.value?.username;
  return (
    <Panel title="Users" icon="users" id="users">
      <p class="muted">
        Admins manage everything, operators print and control the printer, viewers only watch.
      </p>
      {usersError.value ? (
        <p class="error-text" role="alert">
          {usersError.value}
        </p>
      ) : null}
      {list === null ? (
        <p class="muted">
          <Spinner /> Loading users…
        </p>
      ) : list.length === 0 ? (
        <Empty>No users yet: only trusted clients can use Brim until one is added.</Empty>
      ) : (
        <div class="table-scroll">
          <table data-testid="user-table">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col" class="wide-only">
                  Added
                </th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((entry) => (
                <tr key={entry.username} data-user={entry.username}>
                  <th scope="row">
                    {entry.username}
                    {entry.username === me ? <span class="muted"> (you)</span> : null}
                  </th>
                  <td>
                    <span class={`badge ${entry.role === 'admin' ? 'warn' : ''}`}>{entry.role}</span>
                  </td>
                  <td class="muted wide-only">{dateTime(entry.created_on)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="btn small"
                      aria-label={`Set the password of ${entry.username}`}
                      onClick={() =>
                        (editing.value = editing.value === entry.username ? null : entry.username)
                      }
                    >
                      Password
                    </button>
                    <ActionButton
                      class="small"
                      variant="ghost"
                      icon="trash"
                      aria-label={`Delete user ${entry.username}`}
                      disabled={entry.username === me}
                      title={
                        entry.username === me ? 'You cannot delete the user you are logged in as' : undefined
                      }
                      confirm={{
                        title: `Delete user ${entry.username}?`,
                        message: 'Their logins end at once.',
                        confirmLabel: 'Delete',
                        danger: true,
                      }}
                      action={() => deleteUser(entry.username)}
                      done={`User ${entry.username} deleted`}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing.value ? (
        <PasswordForm key={editing.value} username={editing.value} onDone={() => (editing.value = null)} />
      ) : null}
      <h3>Add a user</h3>
      <AddUserForm />
    </Panel>
  );
}

export function ApiKeyPanel() {
  const shown = useSignal(false);
  useEffect(() => onConnected(() => void loadApiKey().catch(() => {})), []);
  const key = apiKey.value;
  return (
    <Panel title="API key" icon="key" id="api-key">
      <p class="muted">
        Slicers and scripts send it in the X-Api-Key header (PrusaSlicer, OrcaSlicer and Cura ask for it).
      </p>
      <div class="key-row">
        <code class="api-key" data-testid="api-key">
          {key === null ? '…' : shown.value ? key : '•'.repeat(32)}
        </code>
        <button type="button" class="btn small" onClick={() => (shown.value = !shown.value)}>
          {shown.value ? 'Hide' : 'Show'}
        </button>
        <button
          type="button"
          class="btn small"
          disabled={key === null}
          onClick={() =>
            void perform(async () => {
              if (!navigator.clipboard) throw new Error('This browser does not allow copying here; use Show');
              await navigator.clipboard.writeText(key ?? '');
            }, 'API key copied')
          }
        >
          Copy
        </button>
      </div>
      <div class="row">
        <ActionButton
          class="small"
          variant="danger"
          confirm={{
            title: 'Make a new API key?',
            message: 'Slicers and scripts using the old key stop working until they get the new one.',
            confirmLabel: 'New key',
            danger: true,
          }}
          action={async () => {
            await regenerateApiKey();
            shown.value = true;
          }}
          done="New API key made; the old one no longer works"
        >
          Regenerate
        </ActionButton>
      </div>
    </Panel>
  );
}
