// What only an admin manages: users (access.*), the API key, and the config file (server.config.*).
// Loaded by the settings page alone, so it is not part of first paint.
import { signal } from '@preact/signals';
import { rpc } from '../api/session.ts';
import type { Role } from './auth.ts';

export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

export interface UserEntry {
  username: string;
  role: Role;
  created_on: number;
}

export const users = signal<UserEntry[] | null>(null);
export const usersError = signal('');

export async function loadUsers(): Promise<void> {
  try {
    users.value = (await rpc.query<{ users: UserEntry[] }>('access.users.list')).users;
    usersError.value = '';
  } catch (error) {
    usersError.value = error instanceof Error ? error.message : String(error);
  }
}

export async function addUser(username: string, password: string, role: Role): Promise<void> {
  await rpc.call('access.post_user', { username, password, role });
  await loadUsers();
}

export async function deleteUser(username: string): Promise<void> {
  await rpc.call('access.delete_user', { username });
  await loadUsers();
}

export async function setPassword(username: string, newPassword: string): Promise<void> {
  await rpc.call('access.users.password', { username, new_password: newPassword });
}

export const apiKey = signal<string | null>(null);

export async function loadApiKey(): Promise<void> {
  apiKey.value = await rpc.query<string>('access.get_api_key');
}

export async function regenerateApiKey(): Promise<void> {
  apiKey.value = await rpc.call<string>('access.post_api_key');
}

/** One problem the daemon's validator found, where it is known. */
export interface ConfigProblem {
  message: string;
  line?: number;
  column?: number;
}

export interface ConfigFileState {
  filename: string;
  in_use: boolean;
  exists: boolean;
  text: string;
  template: string | null;
  restart_pending: boolean;
  can_restart: boolean;
}

export type ConfigSaveResult =
  | { saved: false; filename: string; problems: ConfigProblem[] }
  | { saved: true; filename: string; backup: string | null; dry_run: boolean; can_restart: boolean };

export function loadConfigFile(): Promise<ConfigFileState> {
  return rpc.query<ConfigFileState>('server.config.file');
}

export function saveConfigFile(text: string, dryRun = false): Promise<ConfigSaveResult> {
  return rpc.call<ConfigSaveResult>('server.config.save', { text, dry_run: dryRun });
}
