// Adding a user, shared by the access.user endpoint and the `brim user add` command line.
import type BetterSqlite3 from 'better-sqlite3';
import type { Role } from '../api/registry.ts';
import { errors } from '../core/errors.ts';
import { hashPassword, randomSecret } from './tokens.ts';

export const USERNAME_PATTERN = '^[A-Za-z0-9_.@-]+$';
export const MIN_PASSWORD_LENGTH = 8;

export async function addUser(
  db: BetterSqlite3.Database,
  username: string,
  password: string,
  role: Role,
  createdOnS: number,
): Promise<void> {
  if (!new RegExp(USERNAME_PATTERN).test(username) || username.length > 60) {
    throw errors.invalidParam('username', 'may use letters, digits and _ . @ - only, at most 60 characters');
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw errors.invalidParam('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (db.prepare('SELECT 1 FROM users WHERE username = ?').get(username)) {
    throw errors.conflict(`User '${username}' already exists`);
  }
  db.prepare(
    'INSERT INTO users (username, password_hash, role, secret, created_on) VALUES (?, ?, ?, ?, ?)',
  ).run(username, await hashPassword(password), role, randomSecret(), createdOnS);
}
