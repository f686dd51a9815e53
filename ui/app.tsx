// The shell: header with the always-visible emergency stop, navigation, the stale and printer banners,
// the status card on every page, and the routed page (the preview page is loaded only when opened).
import { signal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { connected, everConnected, linkError, linkState, logout, retryAt, rpc } from './api/session.ts';
import { path } from './router.ts';
import { authState, canOperate, loggedIn, sessionExpired, user } from './state/auth.ts';
import { klippyState, webhooks } from './state/printer.ts';
import { resolvedTheme, toggleTheme } from './state/settings.ts';
import { perform } from './state/toasts.ts';
import ConsoleView from './views/console/index.tsx';
import DashboardView from './views/dashboard/index.tsx';
import FilesView from './views/files/index.tsx';
import JobsView from './views/jobs/index.tsx';
import { LoginPage } from './views/login/index.tsx';
import { ActionButton, Spinner } from './widgets/common.tsx';
import { ConfirmDialog } from './widgets/confirm.tsx';
import { Icon, type IconName } from './widgets/icon.tsx';
import { StatusCard } from './widgets/status-card.tsx';
import { Toasts } from './widgets/toasts.tsx';

interface Route {
  path: string;
  label: string;
  icon: IconName;
  view?: ComponentType;
  load?: () => Promise<{ default: ComponentType }>;
}

const ROUTES: Route[] = [
  { path: '/', label: 'Dashboard', icon: 'dashboard', view: DashboardView },
  { path: '/files', label: 'Files', icon: 'folder', view: FilesView },
  { path: '/console', label: 'Console', icon: 'console', view: ConsoleView },
  { path: '/jobs', label: 'Jobs', icon: 'jobs', view: JobsView },
  { path: '/preview', label: 'Preview', icon: 'cube', load: () => import('./preview/view.tsx') },
  // Users, cameras and the config editor are for admins and seldom opened: kept out of first paint.
  {
    path: '/settings',
    label: 'Settings',
    icon: 'settings',
    load: () => import('./views/settings/index.tsx'),
  },
];

const loaded = signal<Record<string, ComponentType>>({});
const loadErrors = signal<Record<string, string>>({});

function LazyView({ route }: { route: Route }) {
  const view = loaded.value[route.path];
  useEffect(() => {
    if (view || !route.load) return;
    route
      .load()
      .then((module) => {
        loaded.value = { ...loaded.value, [route.path]: module.default };
      })
      .catch((error: unknown) => {
        loadErrors.value = { ...loadErrors.value, [route.path]: String(error) };
      });
  }, [route.path]);
  const error = loadErrors.value[route.path];
  if (error) return <p class="error-text">This page failed to load: {error}</p>;
  if (!view) {
    return (
      <p class="muted">
        <Spinner /> Loading…
      </p>
    );
  }
  const View = view;
  return <View />;
}

const now = signal(Date.now());
setInterval(() => {
  if (retryAt.peek() !== null) now.value = Date.now();
}, 500);

function StaleBanner() {
  if (connected.value) return null;
  const at = retryAt.value;
  const seconds = at ? Math.max(0, Math.ceil((at - now.value) / 1000)) : 0;
  return (
    <div class="banner stale" role="alert" data-testid="stale-banner">
      <Icon name="alert" />
      <span>
        {everConnected.value
          ? 'Connection to Brim lost: what you see may be out of date. '
          : 'Connecting to Brim… '}
        {linkState.value === 'connecting' ? 'Connecting…' : at ? `Retrying in ${seconds} s.` : ''}
        {linkError.value ? <span class="muted"> ({linkError.value})</span> : null}
      </span>
      {linkState.value === 'closed' ? (
        <button type="button" class="btn small" onClick={() => rpc.retryNow()}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}

function PrinterBanner() {
  const state = klippyState.value;
  if (!connected.value || state === 'ready') return null;
  const message = webhooks.value?.state_message ?? '';
  return (
    <div class={`banner ${state === 'startup' ? 'info' : 'bad'}`} role="status" data-testid="printer-banner">
      <Icon name={state === 'startup' ? 'refresh' : 'alert'} />
      <span>
        <strong>
          {state === 'shutdown'
            ? 'Printer shut down'
            : state === 'error'
              ? 'Printer error'
              : 'Printer starting'}
        </strong>
        {message ? `: ${message}` : ''}
      </span>
      {state !== 'startup' && canOperate.value ? (
        <>
          <ActionButton
            class="small"
            action={() => rpc.call('printer.firmware_restart')}
            done="Resetting the board"
          >
            Firmware restart
          </ActionButton>
          <ActionButton class="small ghost" action={() => rpc.call('printer.restart')} done="Reconnecting">
            Restart
          </ActionButton>
        </>
      ) : null}
    </div>
  );
}

function EmergencyStop() {
  // Never disabled: pressing it while disconnected says so, rather than doing nothing. Viewers cannot stop.
  if (!canOperate.value) return null;
  return (
    <button
      type="button"
      class="estop"
      data-testid="emergency-stop"
      aria-label="Emergency stop"
      title="Emergency stop (M112)"
      onClick={() => void perform(() => rpc.call('printer.emergency_stop'), 'Emergency stop sent')}
    >
      <Icon name="stop" size={20} />
      <span>STOP</span>
    </button>
  );
}

function Nav({ class: className }: { class: string }) {
  const current = path.value;
  return (
    <nav class={className} aria-label="Pages">
      {ROUTES.map((r) => (
        <a key={r.path} href={r.path} aria-current={current === r.path ? 'page' : undefined}>
          <Icon name={r.icon} size={20} />
          <span>{r.label}</span>
        </a>
      ))}
    </nav>
  );
}

function UserMenu() {
  if (!loggedIn.value) return null;
  const who = user.value;
  return (
    <>
      {who ? (
        <span
          class="user-name muted"
          data-testid="user-name"
          title={`Logged in as ${who.username} (${who.role})`}
        >
          {who.username}
        </span>
      ) : null}
      <button type="button" class="btn small ghost" data-testid="logout" onClick={() => void logout()}>
        Log out
      </button>
    </>
  );
}

export function App() {
  const current = ROUTES.find((r) => r.path === path.value);
  const loggingIn = authState.value === 'login';
  useEffect(() => {
    document.title = current ? `${current.label} · Brim` : 'Brim';
  }, [current]);
  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label="Brim dashboard">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M3 17h18l-2 4H5zM7 13h10l-1 3H8zM10 3h4v9h-4z" fill="currentColor" />
          </svg>
          <span>Brim</span>
        </a>
        <span class={`link-dot ${linkState.value}`} title={`Connection: ${linkState.value}`} />
        {loggingIn ? <span class="topnav" /> : <Nav class="topnav" />}
        <div class="topbar-end">
          <UserMenu />
          <button
            type="button"
            class="icon-btn"
            aria-label={
              resolvedTheme.value === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'
            }
            onClick={toggleTheme}
          >
            <Icon name={resolvedTheme.value === 'dark' ? 'sun' : 'moon'} />
          </button>
          <EmergencyStop />
        </div>
      </header>
      <StaleBanner />
      {loggingIn ? null : <PrinterBanner />}
      <main id="main" class={connected.value ? '' : 'stale'} tabIndex={-1}>
        {loggingIn ? <LoginPage /> : null}
        {/* An expired session's login covers the page instead of replacing it, so its inputs, scroll
            and open panels are still there once the user has logged back in. */}
        {loggingIn && !sessionExpired.value ? null : (
          <div class="page" hidden={loggingIn}>
            <StatusCard />
            {current ? (
              current.view ? (
                <current.view />
              ) : (
                <LazyView route={current} />
              )
            ) : (
              <p class="empty">
                No page at {path.value}. <a href="/">Back to the dashboard</a>
              </p>
            )}
          </div>
        )}
      </main>
      {loggingIn ? null : <Nav class="bottomnav" />}
      <Toasts />
      <ConfirmDialog />
    </div>
  );
}
