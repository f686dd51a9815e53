// Who is logged in: the tokens (the refresh token survives a reload in localStorage, the access token
// only in memory), the user's role, and what the role lets the UI show.
import { computed, signal } from '@preact/signals';

export type Role = 'viewer' | 'operator' | 'admin';

const REFRESH_KEY = 'brim.refresh_token';

function readStored(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

/** 'unknown' until the first connection says; 'login' while the login page is shown. */
export const authState = signal<'unknown' | 'login' | 'ready'>('unknown');
export const accessToken = signal<string | null>(null);
export const refreshToken = signal<string | null>(readStored());
/** The login page is up because a session ran out (not a logout or a first visit). */
export const sessionExpired = signal(false);
export const user = signal<{ username: string; role: Role } | null>(null);
/** Whether the user logged in (rather than being trusted): the header then offers logging out. */
export const loggedIn = computed(() => refreshToken.value !== null);

/**
 * Controls that change anything (print, jog, heat, upload, console input, the e-stop) are for operators
 * and admins. Before the role is known they show, unless a stored login may turn out to be a viewer's.
 */
export const canOperate = computed(() => {
  if (authState.value === 'login') return false;
  const role = user.value?.role;
  if (role) return role !== 'viewer';
  return refreshToken.value === null;
});
export const isAdmin = computed(() => {
  if (authState.value === 'login') return false;
  const role = user.value?.role;
  if (role) return role === 'admin';
  return refreshToken.value === null;
});

export function storeTokens(tokens: { token?: string | null; refresh_token?: string | null }): void {
  if (tokens.token !== undefined) accessToken.value = tokens.token;
  if (tokens.refresh_token !== undefined) {
    refreshToken.value = tokens.refresh_token;
    try {
      if (tokens.refresh_token) localStorage.setItem(REFRESH_KEY, tokens.refresh_token);
      else localStorage.removeItem(REFRESH_KEY);
    } catch {
      // Private mode: the login lasts as long as the tab.
    }
  }
}

/** A JWT's `exp` in ms since the epoch, or null when it cannot be read. */
export function tokenExpiry(token: string): number | null {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Whether an error (RPC or HTTP) means "log in first". */
export function isUnauthorized(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 401 || (code === -32602 && typeof message === 'string' && /unauthori[sz]ed/i.test(message));
}
