// Webcams (server.webcams.*): everyone sees the list; admins add, edit and delete them.
import { useSignal } from '@preact/signals';
import { isAdmin } from '../../state/auth.ts';
import { allWebcams, deleteWebcam, saveWebcam, WEBCAM_SERVICES, type Webcam } from '../../state/cameras.ts';
import { ActionButton, Empty, Panel } from '../../widgets/common.tsx';

const ROTATIONS = [0, 90, 180, 270] as const;

function blankWebcam(): Webcam {
  return {
    name: '',
    service: 'mjpegstreamer-adaptive',
    enabled: true,
    target_fps: 15,
    stream_url: '/webcam/?action=stream',
    snapshot_url: '/webcam/?action=snapshot',
    flip_horizontal: false,
    flip_vertical: false,
    rotation: 0,
    aspect_ratio: '4:3',
  };
}

/** What is wrong with a draft, before the server is asked; null when it can be saved. */
function draftProblem(draft: Webcam): string | null {
  if (draft.name.trim() === '') return 'A camera needs a name';
  if (!Number.isInteger(draft.target_fps) || draft.target_fps < 1 || draft.target_fps > 120)
    return 'Frames per second must be a whole number from 1 to 120';
  if (draft.stream_url.trim() === '' && draft.snapshot_url.trim() === '')
    return 'Give a stream URL or a snapshot URL';
  return null;
}

function WebcamForm({ initial, onDone }: { initial: Webcam; onDone: () => void }) {
  const draft = useSignal<Webcam>({ ...initial });
  const set = <K extends keyof Webcam>(key: K, value: Webcam[K]) => {
    draft.value = { ...draft.value, [key]: value };
  };
  const problem = draftProblem(draft.value);
  const editing = initial.uid !== undefined;
  return (
    <form
      class="camera-form"
      aria-label={editing ? `Edit camera ${initial.name}` : 'Add a camera'}
      onSubmit={(e) => e.preventDefault()}
    >
      <label class="field">
        <span>Name</span>
        <input type="text" value={draft.value.name} onInput={(e) => set('name', e.currentTarget.value)} />
      </label>
      <label class="field">
        <span>Service</span>
        <select value={draft.value.service} onChange={(e) => set('service', e.currentTarget.value)}>
          {[...new Set([...WEBCAM_SERVICES, draft.value.service])].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label class="field wide">
        <span>Stream URL</span>
        <input
          type="text"
          value={draft.value.stream_url}
          onInput={(e) => set('stream_url', e.currentTarget.value)}
        />
      </label>
      <label class="field wide">
        <span>Snapshot URL</span>
        <input
          type="text"
          value={draft.value.snapshot_url}
          onInput={(e) => set('snapshot_url', e.currentTarget.value)}
        />
      </label>
      <label class="field">
        <span>Frames per second</span>
        <input
          type="number"
          min={1}
          max={120}
          value={draft.value.target_fps}
          onInput={(e) => set('target_fps', Number(e.currentTarget.value))}
        />
      </label>
      <label class="field">
        <span>Rotation</span>
        <select value={draft.value.rotation} onChange={(e) => set('rotation', Number(e.currentTarget.value))}>
          {ROTATIONS.map((r) => (
            <option key={r} value={r}>
              {r}°
            </option>
          ))}
        </select>
      </label>
      <div class="camera-checks">
        <label class="check">
          <input
            type="checkbox"
            checked={draft.value.enabled !== false}
            onChange={(e) => set('enabled', e.currentTarget.checked)}
          />
          Shown on the dashboard
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={draft.value.flip_horizontal}
            onChange={(e) => set('flip_horizontal', e.currentTarget.checked)}
          />
          Flip horizontally
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={draft.value.flip_vertical}
            onChange={(e) => set('flip_vertical', e.currentTarget.checked)}
          />
          Flip vertically
        </label>
      </div>
      {problem ? <p class="muted wide">{problem}</p> : null}
      <div class="row wide">
        <ActionButton
          type="submit"
          variant="primary"
          disabled={problem !== null}
          action={async () => {
            await saveWebcam({ ...draft.value, name: draft.value.name.trim() });
            onDone();
          }}
          done={
            editing ? `Camera ${draft.value.name.trim()} saved` : `Camera ${draft.value.name.trim()} added`
          }
        >
          {editing ? 'Save camera' : 'Add camera'}
        </ActionButton>
        <button type="button" class="btn ghost" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function CamerasPanel() {
  /** The uid being edited, 'new' for the add form, or null. */
  const editing = useSignal<string | null>(null);
  const admin = isAdmin.value;
  const list = allWebcams.value;
  const current = list.find((w) => w.uid === editing.value);
  return (
    <Panel
      title="Cameras"
      icon="camera"
      id="cameras"
      actions={
        admin && editing.value === null ? (
          <button type="button" class="btn small" onClick={() => (editing.value = 'new')}>
            Add camera
          </button>
        ) : null
      }
    >
      {list.length === 0 ? (
        <Empty>No cameras yet.</Empty>
      ) : (
        <div class="table-scroll">
          <table data-testid="camera-table">
            <thead>
              <tr>
                <th scope="col">Camera</th>
                <th scope="col">Service</th>
                <th scope="col">Stream</th>
                {admin ? (
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {list.map((cam) => (
                <tr key={cam.uid ?? cam.name} data-camera={cam.name}>
                  <th scope="row">
                    {cam.name}
                    {cam.enabled === false ? <span class="muted"> (hidden)</span> : null}
                  </th>
                  <td class="muted">{cam.service}</td>
                  <td class="url-cell">{cam.stream_url || cam.snapshot_url}</td>
                  {admin ? (
                    <td class="row-actions">
                      <button
                        type="button"
                        class="btn small"
                        aria-label={`Edit camera ${cam.name}`}
                        onClick={() => (editing.value = cam.uid ?? null)}
                      >
                        Edit
                      </button>
                      <ActionButton
                        class="small"
                        variant="ghost"
                        icon="trash"
                        aria-label={`Delete camera ${cam.name}`}
                        confirm={{
                          title: `Delete camera ${cam.name}?`,
                          confirmLabel: 'Delete',
                          danger: true,
                        }}
                        action={() => deleteWebcam(cam)}
                        done={`Camera ${cam.name} deleted`}
                      />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin && editing.value === 'new' ? (
        <WebcamForm key="new" initial={blankWebcam()} onDone={() => (editing.value = null)} />
      ) : null}
      {admin && current ? (
        <WebcamForm key={current.uid} initial={current} onDone={() => (editing.value = null)} />
      ) : null}
      {admin ? null : <p class="muted">Only an admin can add or change cameras.</p>}
    </Panel>
  );
}
