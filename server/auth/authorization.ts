// The `authorization` component: users with roles, JWT logins, one-shot tokens, the API key, trusted
// networks, and the check every endpoint call passes through (Moonraker's access.* endpoints).
import { randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type {
  Authenticator,
  Credentials,
  CallerIdentity as Identity,
  RequestContext,
  Role,
} from '../api/registry.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { ApiError, errors } from '../core/errors.ts';
import { FailureLimiter } from './rate-limit.ts';
import { hashPassword, peekClaims, randomSecret, signToken, verifyPassword, verifyToken } from './tokens.ts';
import { TrustedNetworks } from './trusted.ts';
import { addUser, MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from './users.ts';

const ROLES = ['viewer', 'operator', 'admin'] as const;
const roleRank = (role: Role): number => ROLES.indexOf(role as (typeof ROLES)[number]);

export const authorizationConfig = Type.Object({
  trusted_clients: Type.Array(Type.String(), {
    default: ['127.0.0.0/8', '::1/128'],
    description:
      'Addresses or CIDR ranges that need no login, e.g. "192.168.1.0/24". Default: this machine only.',
  }),
  trusted_role: Type.Union(
    ROLES.map((r) => Type.Literal(r)),
    { default: 'admin', description: 'Role given to trusted clients: admin, operator or viewer.' },
  ),
  force_logins: Type.Boolean({
    default: false,
    description: 'Once a user exists, require a login even from trusted clients.',
  }),
  cors_domains: Type.Array(Type.String(), {
    default: [],
    description:
      'Browser origins on other hosts allowed to call the API, e.g. "http://*.local" (wildcards allowed).',
  }),
  access_token_minutes: Type.Integer({
    default: 60,
    minimum: 1,
    maximum: 10_080,
    description: 'Life of a login token.',
  }),
  refresh_token_days: Type.Integer({
    default: 90,
    minimum: 1,
    maximum: 3650,
    description: 'Life of a refresh token.',
  }),
  login_attempts_per_minute: Type.Integer({
    default: 5,
    minimum: 1,
    maximum: 1000,
    description: 'Failed logins allowed per client address per minute before further tries are refused.',
  }),
});

export type AuthorizationConfig = Static<typeof authorizationConfig>;

interface UserRow {
  username: string;
  password_hash: string;
  role: Role;
  secret: string;
  created_on: number;
}

export interface Authorization extends ComponentInstance, Authenticator {
  createUser(username: string, password: string, role: Role): Promise<void>;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    authorization: Authorization;
  }
}

/** Endpoints anyone may call: how else would they log in? */
const PUBLIC_METHODS = new Set([
  'access.info',
  'access.login',
  'access.refresh_jwt',
  'server.connection.identify',
]);

function wildcardToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

export const authorizationComponent = defineComponent({
  name: 'authorization',
  needs: ['store'],
  advertiseAs: 'authorization',
  config: authorizationConfig,
  create(host): Authorization {
    const config = host.config;
    const trusted = new TrustedNetworks(config.trusted_clients);
    const cors = config.cors_domains.map(wildcardToRegExp);
    const limiter = new FailureLimiter(config.login_attempts_per_minute, 60);
    const db = host.db;
    const nowS = () => Math.floor(host.clock.wallMs() / 1000);
    const oneshots = new Map<string, { expiresS: number; identity: Identity }>();

    const getUser = db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?');
    const listUsers = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username');
    const countUsers = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users');
    const setSecret = db.prepare<[string, string]>('UPDATE users SET secret = ? WHERE username = ?');
    const setPassword = db.prepare<[string, string, string]>(
      'UPDATE users SET password_hash = ?, secret = ? WHERE username = ?',
    );
    const deleteUser = db.prepare<[string]>('DELETE FROM users WHERE username = ?');
    const readSetting = db.prepare<[string], { value: string }>(
      'SELECT value FROM auth_settings WHERE key = ?',
    );
    const writeSetting = db.prepare<[string, string]>(
      'INSERT INTO auth_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );

    const apiKey = (): string => {
      const stored = readSetting.get('api_key')?.value;
      if (stored) return stored;
      const fresh = randomBytes(16).toString('hex');
      writeSetting.run('api_key', fresh);
      return fresh;
    };

    const issue = (user: UserRow) => {
      const iat = nowS();
      return {
        token: signToken(
          { sub: user.username, typ: 'access', iat, exp: iat + config.access_token_minutes * 60 },
          user.secret,
        ),
        refresh_token: signToken(
          { sub: user.username, typ: 'refresh', iat, exp: iat + config.refresh_token_days * 86_400 },
          user.secret,
        ),
      };
    };

    const userFromToken = (token: string, type: 'access' | 'refresh'): UserRow | null => {
      const claims = peekClaims(token);
      const user = claims ? getUser.get(claims.sub) : undefined;
      if (!user) return null;
      return verifyToken(token, user.secret, type, nowS()) ? user : null;
    };

    const identify = (credentials: Credentials): Identity | null => {
      if (credentials.oneshotToken) {
        const entry = oneshots.get(credentials.oneshotToken);
        oneshots.delete(credentials.oneshotToken);
        if (entry && entry.expiresS >= nowS()) return { ...entry.identity, source: 'oneshot' };
      }
      if (credentials.apiKey && credentials.apiKey === apiKey()) {
        return { username: '_api_key', role: 'admin', source: 'api_key' };
      }
      if (credentials.accessToken) {
        const user = userFromToken(credentials.accessToken, 'access');
        if (user) return { username: user.username, role: user.role, source: 'token' };
      }
      const loginsForced = config.force_logins && (countUsers.get()?.n ?? 0) > 0;
      if (!loginsForced && trusted.contains(credentials.remoteAddress)) {
        return { username: '_trusted_user', role: config.trusted_role, source: 'trusted' };
      }
      return null;
    };

    const requireIdentity = (context: RequestContext): Identity => {
      if (!context.identity) throw errors.unauthorized();
      return context.identity;
    };

    const authorization: Authorization = {
      identify,
      check(endpoint, identity) {
        if (endpoint.rpcMethod && PUBLIC_METHODS.has(endpoint.rpcMethod)) return;
        if (!identity) throw errors.unauthorized();
        if (roleRank(identity.role) < roleRank(endpoint.role)) {
          throw errors.forbidden(
            `Forbidden: ${endpoint.rpcMethod ?? endpoint.path} needs the ${endpoint.role} role`,
          );
        }
      },
      corsAllowed: (origin) => cors.some((pattern) => pattern.test(origin)),
      createUser: (username, password, role) => addUser(db, username, password, role, nowS()),
    };

    host.api.register({
      path: '/access/info',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Whether this client needs to log in',
      handler: (_args, context) => ({
        default_source: 'moonraker',
        available_sources: ['moonraker'],
        login_required: !context.identity,
        trusted: context.identity?.source === 'trusted',
      }),
    });
    host.api.register({
      path: '/access/login',
      verbs: ['POST'],
      role: 'viewer',
      params: Type.Object({
        username: Type.String(),
        password: Type.String(),
        source: Type.Optional(Type.String()),
      }),
      description: 'Logs a user in; returns an access token and a refresh token',
      handler: async ({ username, password }, context) => {
        const wait = limiter.blockedFor(context.remoteAddress, nowS());
        if (wait > 0) throw new ApiError(429, `Too many failed logins; try again in ${wait} s`);
        const user = getUser.get(username);
        if (!user || !(await verifyPassword(password, user.password_hash))) {
          limiter.fail(context.remoteAddress, nowS());
          throw errors.unauthorized();
        }
        limiter.succeed(context.remoteAddress);
        context.authenticate?.({ username: user.username, role: user.role, source: 'token' });
        return { username, ...issue(user), action: 'user_logged_in', source: 'moonraker' };
      },
    });
    host.api.register({
      path: '/access/refresh_jwt',
      verbs: ['POST'],
      role: 'viewer',
      params: Type.Object({ refresh_token: Type.String() }),
      description: 'A new access token for a refresh token',
      handler: ({ refresh_token }) => {
        const user = userFromToken(refresh_token, 'refresh');
        if (!user) throw errors.unauthorized();
        return {
          username: user.username,
          token: issue(user).token,
          source: 'moonraker',
          action: 'user_jwt_refresh',
        };
      },
    });
    host.api.register({
      path: '/access/logout',
      verbs: ['POST'],
      role: 'viewer',
      description: 'Revokes every token of the logged-in user',
      handler: (_args, context) => {
        const identity = requireIdentity(context);
        if (identity.source !== 'token') throw errors.badRequest('Only a logged-in user can log out');
        setSecret.run(randomSecret(), identity.username);
        return { username: identity.username, action: 'user_logged_out' };
      },
    });
    host.api.register({
      path: '/access/user',
      verbs: ['GET', 'POST', 'DELETE'],
      role: 'viewer',
      params: Type.Object({
        username: Type.Optional(Type.String({ minLength: 1, maxLength: 60, pattern: USERNAME_PATTERN })),
        password: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })),
        role: Type.Optional(Type.Union(ROLES.map((r) => Type.Literal(r)))),
      }),
      description: 'The current user (GET); create (POST) or delete (DELETE) a user, for admins',
      handler: async ({ username, password, role }, context) => {
        const identity = requireIdentity(context);
        if (context.verb === 'GET') {
          const user = getUser.get(identity.username);
          return {
            username: identity.username,
            source: 'moonraker',
            created_on: user?.created_on ?? 0,
            role: identity.role,
          };
        }
        if (identity.role !== 'admin') throw errors.forbidden('Forbidden: only an admin manages users');
        if (!username) throw errors.missingParam('username');
        if (context.verb === 'POST') {
          if (!password) throw errors.missingParam('password');
          await authorization.createUser(username, password, role ?? 'operator');
          const user = getUser.get(username) as UserRow;
          return { username, ...issue(user), source: 'moonraker', action: 'user_created' };
        }
        if (!getUser.get(username)) throw errors.notFound(`User '${username}' not found`);
        // Moonraker's rule too: an admin who deletes themself is locked out mid-session.
        if (identity.source === 'token' && identity.username === username) {
          throw errors.badRequest(`Cannot delete logged in user ${username}`);
        }
        deleteUser.run(username);
        return { username, action: 'user_deleted' };
      },
    });
    host.api.register({
      path: '/access/users/list',
      verbs: ['GET'],
      role: 'admin',
      description: 'Every user with role and creation time',
      handler: () => ({
        users: listUsers.all().map((u) => ({
          username: u.username,
          source: 'moonraker',
          created_on: u.created_on,
          role: u.role,
        })),
      }),
    });
    host.api.register({
      path: '/access/user/password',
      verbs: ['POST'],
      role: 'viewer',
      params: Type.Object({
        password: Type.String(),
        new_password: Type.String({ minLength: 8, maxLength: 200 }),
      }),
      description: 'Changes the logged-in user’s password and revokes their tokens',
      handler: async ({ password, new_password }, context) => {
        const identity = requireIdentity(context);
        const user = getUser.get(identity.username);
        if (!user || !(await verifyPassword(password, user.password_hash))) throw errors.unauthorized();
        setPassword.run(await hashPassword(new_password), randomSecret(), user.username);
        return { username: user.username, action: 'user_password_reset' };
      },
    });
    host.api.register({
      path: '/access/users/password',
      verbs: ['POST'],
      role: 'admin',
      params: Type.Object({
        username: Type.String({ minLength: 1, maxLength: 60, pattern: USERNAME_PATTERN }),
        new_password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 200 }),
      }),
      // Moonraker has no such method: it assumes users know their old password. Brim's admin resets one.
      description: 'Sets another user’s password (admins) and revokes that user’s tokens',
      handler: async ({ username, new_password }) => {
        if (!getUser.get(username)) throw errors.notFound(`User '${username}' not found`);
        setPassword.run(await hashPassword(new_password), randomSecret(), username);
        return { username, action: 'user_password_reset' };
      },
    });
    host.api.register({
      path: '/access/oneshot_token',
      verbs: ['GET'],
      role: 'viewer',
      description: 'A token valid once within 5 s, for a websocket or download URL',
      handler: (_args, context) => {
        const identity = requireIdentity(context);
        const token = randomBytes(24).toString('base64url');
        oneshots.set(token, { expiresS: nowS() + 5, identity });
        return token;
      },
    });
    host.api.register({
      path: '/access/api_key',
      verbs: ['GET', 'POST'],
      role: 'admin',
      description: 'The API key slicers use (GET), or a new one replacing it (POST)',
      handler: (_args, context) => {
        if (context.verb === 'POST') writeSetting.run('api_key', randomBytes(16).toString('hex'));
        return apiKey();
      },
    });
    host.api.setAuthenticator(authorization);
    return authorization;
  },
});
