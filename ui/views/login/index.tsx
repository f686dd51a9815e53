// The login page, shown instead of the app when this client is not trusted and nobody is logged in.
import { useSignal } from '@preact/signals';
import { connected, login } from '../../api/session.ts';
import { Spinner } from '../../widgets/common.tsx';

export function LoginPage() {
  const username = useSignal('');
  const password = useSignal('');
  const error = useSignal('');
  const busy = useSignal(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy.value) return;
    busy.value = true;
    error.value = '';
    try {
      await login(username.value.trim(), password.value);
      password.value = '';
    } catch (failure) {
      // The server's own words: "Unauthorized", or the rate limit's "Too many failed logins; …".
      error.value = failure instanceof Error ? failure.message : String(failure);
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class="panel login" aria-labelledby="login-title" data-testid="login-page">
      <h1 id="login-title">Log in to Brim</h1>
      <p class="muted">This printer asks who you are before it shows or does anything.</p>
      <form onSubmit={submit}>
        <label>
          <span>Username</span>
          <input
            name="username"
            autocomplete="username"
            required
            value={username.value}
            onInput={(e) => (username.value = e.currentTarget.value)}
          />
        </label>
        <label>
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
        </label>
        {error.value ? (
          <p class="error-text" role="alert" data-testid="login-error">
            {error.value}
          </p>
        ) : null}
        <button type="submit" class="btn primary" disabled={busy.value || !connected.value}>
          {busy.value ? <Spinner /> : null}
          Log in
        </button>
      </form>
    </section>
  );
}
