// What only an admin manages: users (access.*), the API key, and the config file (server.config.*).
// Loaded by the settings page alone, so it is not part of first paint.
import { signal } from '@preact/signals';
import type { ConfigFileState, ConfigSaveResult } from '../../server/api/config-file-types.ts';
import { type TomlValue, tomlKey, tomlValue } from '../../server/core/toml-line.ts';
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

export type { ConfigFileState, ConfigProblem, ConfigSaveResult } from '../../server/api/config-file-types.ts';

export function loadConfigFile(): Promise<ConfigFileState> {
  return rpc.query<ConfigFileState>('server.config.file');
}

/** Counts saves made from any panel, so the config file editor shows what is on disk now. */
export const configFileSaves = signal(0);

export async function saveConfigFile(text: string, dryRun = false): Promise<ConfigSaveResult> {
  const result = await rpc.call<ConfigSaveResult>('server.config.save', { text, dry_run: dryRun });
  if (result.saved && !dryRun) configFileSaves.value++;
  return result;
}

/**
 * The config text with table `[name]` replaced by `values` (appended when absent), or removed when
 * `values` is null. Only that table's lines change: comments and every other table stay as written.
 */
export function withTable(text: string, name: string, values: Record<string, TomlValue> | null): string {
  const lines = text.split('\n');
  const heading = new RegExp(`^\\s*\\[\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\]\\s*(#.*)?$`);
  const start = lines.findIndex((line) => heading.test(line));
  let end = start + 1;
  if (start >= 0) {
    while (end < lines.length && !/^\s*\[/.test(lines[end] ?? '')) end++;
    // Comments and blank lines just above the next heading belong to that table.
    while (end > start + 1 && /^\s*(#.*)?$/.test(lines[end - 1] ?? '')) end--;
  }
  const block =
    values === null
      ? []
      : [
          `[${name}]`,
          ...Object.entries(values).map(([key, value]) => `${tomlKey(key)} = ${tomlValue(value)}`),
        ];
  if (start >= 0) {
    lines.splice(start, end - start, ...block);
    return lines.join('\n');
  }
  if (values === null) return text;
  const body = text.replace(/\s*$/, '');
  return `${body}${body ? '\n\n' : ''}${block.join('\n')}\n`;
}
