// Confirmation and prompt dialogs on the native <dialog>: focus stays inside, Escape cancels.
import { signal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';

export interface ConfirmSpec {
  title: string;
  message?: string;
  confirmLabel?: string;
  danger?: boolean;
  /** Asks for a value (rename, new folder); the promise then resolves with it. */
  input?: { label: string; value: string };
}

interface Request extends ConfirmSpec {
  resolve: (value: string | null) => void;
}

const request = signal<Request | null>(null);

/** Resolves true when confirmed. */
export function confirm(spec: ConfirmSpec): Promise<boolean> {
  return ask(spec).then((value) => value !== null);
}

/** Resolves with the text entered, or null when cancelled. */
export function ask(spec: ConfirmSpec): Promise<string | null> {
  request.peek()?.resolve(null);
  return new Promise((resolve) => {
    request.value = { ...spec, resolve };
  });
}

export function ConfirmDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const current = request.value;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (current && !dialog.open) {
      dialog.showModal();
      inputRef.current?.select();
    } else if (!current && dialog.open) dialog.close();
  }, [current]);

  const finish = (ok: boolean) => {
    const r = request.peek();
    if (!r) return;
    request.value = null;
    r.resolve(ok ? (r.input ? (inputRef.current?.value ?? '') : 'ok') : null);
  };

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        finish(false);
      }}
    >
      {current ? (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            finish(true);
          }}
        >
          <h2 id="dialog-title">{current.title}</h2>
          {current.message ? <p>{current.message}</p> : null}
          {current.input ? (
            <label class="field">
              <span>{current.input.label}</span>
              <input ref={inputRef} type="text" defaultValue={current.input.value} required />
            </label>
          ) : null}
          <div class="dialog-actions">
            <button type="button" class="btn ghost" onClick={() => finish(false)}>
              Cancel
            </button>
            <button
              type="submit"
              class={`btn ${current.danger ? 'danger' : 'primary'}`}
              autofocus={!current.input}
            >
              {current.confirmLabel ?? 'OK'}
            </button>
          </div>
        </form>
      ) : null}
    </dialog>
  );
}
