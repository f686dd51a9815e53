// Feedback for every action: a toast with the outcome, the server's own message when it fails.
import { signal } from '@preact/signals';

export type ToastKind = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

export const toasts = signal<Toast[]>([]);
let nextId = 1;

export function toast(
  text: string,
  kind: ToastKind = 'info',
  durationMs = kind === 'error' ? 8000 : 3000,
): void {
  const id = nextId++;
  toasts.value = [...toasts.value.slice(-4), { id, kind, text }];
  setTimeout(() => dismissToast(id), durationMs);
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}

/** What to show for a failure: the server's message as it is, never a stack trace. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  return 'Something went wrong';
}

/** Runs an action, toasting its failure (and its success when `done` is given); resolves to success. */
export async function perform(action: () => Promise<unknown>, done?: string): Promise<boolean> {
  try {
    await action();
    if (done) toast(done, 'success');
    return true;
  } catch (error) {
    toast(errorText(error), 'error');
    return false;
  }
}
