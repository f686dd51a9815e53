// Building blocks every view uses: panels, buttons that run an action once with feedback, progress bars.
import { useSignal } from '@preact/signals';
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { connected } from '../api/session.ts';
import { canOperate } from '../state/auth.ts';
import { perform } from '../state/toasts.ts';
import { type ConfirmSpec, confirm } from './confirm.tsx';
import { Icon, type IconName } from './icon.tsx';

export function Panel({
  title,
  icon,
  actions,
  children,
  class: className = '',
  id,
}: {
  title: string;
  icon?: IconName;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
  id?: string;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section class={`panel ${className}`} id={id} aria-labelledby={headingId}>
      <header class="panel-head">
        <h2 id={headingId}>
          {icon ? <Icon name={icon} /> : null}
          {title}
        </h2>
        {actions ? <div class="panel-actions">{actions}</div> : null}
      </header>
      <div class="panel-body">{children}</div>
    </section>
  );
}

export function Spinner() {
  return <span class="spinner" aria-hidden="true" />;
}

type ButtonProps = Omit<
  ButtonHTMLAttributes<HTMLButtonElement>,
  'onClick' | 'action' | 'icon' | 'disabled'
> & {
  /** Runs once per click: the button is disabled until it settles, so a command is never sent twice. */
  action: () => Promise<unknown>;
  /** Toast text on success; failures always toast the server's message. */
  done?: string;
  confirm?: ConfirmSpec;
  icon?: IconName;
  /** Commands need the websocket; leave false for things that work offline. */
  offline?: boolean;
  variant?: 'primary' | 'danger' | 'ghost' | '';
  disabled?: boolean;
  /** Viewers may press it too (it changes nothing on the printer); by default only operators see it. */
  viewer?: boolean;
  children?: ComponentChildren;
};

export function ActionButton({
  action,
  done,
  confirm: confirmSpec,
  icon,
  offline = false,
  variant = '',
  disabled = false,
  viewer = false,
  children,
  class: className = '',
  ...rest
}: ButtonProps) {
  const busy = useSignal(false);
  if (!viewer && !canOperate.value) return null;
  const onClick = async () => {
    if (busy.value) return;
    if (confirmSpec && !(await confirm(confirmSpec))) return;
    busy.value = true;
    try {
      await perform(action, done);
    } finally {
      busy.value = false;
    }
  };
  return (
    <button
      type="button"
      {...rest}
      class={`btn ${variant} ${className}`}
      disabled={disabled || busy.value || (!offline && !connected.value)}
      aria-busy={busy.value ? 'true' : undefined}
      onClick={onClick}
    >
      {busy.value ? <Spinner /> : icon ? <Icon name={icon} /> : null}
      {children}
    </button>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.max(0, Math.min(100, value * 100));
  return (
    <div
      class="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(pct)}
    >
      <div class="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
