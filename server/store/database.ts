// Moonraker's database component: JSON namespaces with dot-path keys, one SQLite row per top-level key.
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';

/** Clients may read these but not write them (Moonraker's reserved namespaces). */
const READ_ONLY_NAMESPACES = new Set(['moonraker']);
/** Never listed or readable by clients. */
const HIDDEN_NAMESPACES = new Set(['database']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface NamespaceDatabase extends ComponentInstance {
  namespaces(): string[];
  get(namespace: string, key?: string | string[]): Json;
  post(namespace: string, key: string | string[], value: Json): Json;
  delete(namespace: string, key: string | string[]): Json;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    database: NamespaceDatabase;
  }
}

const keyParam = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
]);

export const databaseComponent = defineComponent({
  name: 'database',
  needs: ['store'],
  advertiseAs: 'database',
  create(host): NamespaceDatabase {
    const db = host.db;
    const listNamespaces = db.prepare<[], { namespace: string }>(
      'SELECT DISTINCT namespace FROM namespace_items ORDER BY namespace',
    );
    const readAll = db.prepare<[string], { key: string; value: string }>(
      'SELECT key, value FROM namespace_items WHERE namespace = ? ORDER BY key',
    );
    const readOne = db.prepare<[string, string], { value: string }>(
      'SELECT value FROM namespace_items WHERE namespace = ? AND key = ?',
    );
    const write = db.prepare<[string, string, string]>(
      'INSERT INTO namespace_items (namespace, key, value) VALUES (?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value',
    );
    const remove = db.prepare<[string, string]>(
      'DELETE FROM namespace_items WHERE namespace = ? AND key = ?',
    );
    const exists = db.prepare<[string], { found: number }>(
      'SELECT 1 AS found FROM namespace_items WHERE namespace = ? LIMIT 1',
    );

    const requireNamespace = (namespace: string) => {
      if (HIDDEN_NAMESPACES.has(namespace) || !exists.get(namespace))
        throw errors.namespaceNotFound(namespace);
    };

    const database: NamespaceDatabase = {
      namespaces: () =>
        listNamespaces
          .all()
          .map((r) => r.namespace)
          .filter((n) => !HIDDEN_NAMESPACES.has(n)),

      get(namespace, key) {
        requireNamespace(namespace);
        if (key === undefined) {
          const whole: Record<string, Json> = {};
          for (const row of readAll.all(namespace)) whole[row.key] = JSON.parse(row.value) as Json;
          return whole;
        }
        const [top, ...rest] = splitKey(key);
        const row = readOne.get(namespace, top!);
        if (!row) throw errors.keyNotFound(joinKey(key), namespace);
        let node = JSON.parse(row.value) as Json;
        for (const part of rest) {
          if (!isObject(node) || !(part in node)) throw errors.keyNotFound(joinKey(key), namespace);
          node = node[part]!;
        }
        return node;
      },

      post(namespace, key, value) {
        const [top, ...rest] = splitKey(key);
        const transaction = db.transaction(() => {
          if (rest.length === 0) {
            write.run(namespace, top!, JSON.stringify(value));
            return;
          }
          const row = readOne.get(namespace, top!);
          let root = row ? (JSON.parse(row.value) as Json) : {};
          if (!isObject(root)) root = {};
          let node: Record<string, Json> = root;
          for (const part of rest.slice(0, -1)) {
            const next = node[part];
            if (isObject(next)) node = next;
            else {
              const created: Record<string, Json> = {};
              node[part] = created;
              node = created;
            }
          }
          node[rest[rest.length - 1]!] = value;
          write.run(namespace, top!, JSON.stringify(root));
        });
        transaction();
        return value;
      },

      delete(namespace, key) {
        requireNamespace(namespace);
        const [top, ...rest] = splitKey(key);
        return db.transaction(() => {
          const row = readOne.get(namespace, top!);
          if (!row) throw errors.keyNotFound(joinKey(key), namespace);
          if (rest.length === 0) {
            remove.run(namespace, top!);
            return JSON.parse(row.value) as Json;
          }
          const root = JSON.parse(row.value) as Json;
          let node = root;
          for (const part of rest.slice(0, -1)) {
            if (!isObject(node) || !isObject(node[part] ?? null))
              throw errors.keyNotFound(joinKey(key), namespace);
            node = node[part]!;
          }
          const last = rest[rest.length - 1]!;
          if (!isObject(node) || !(last in node)) throw errors.keyNotFound(joinKey(key), namespace);
          const removed = node[last]!;
          delete node[last];
          write.run(namespace, top!, JSON.stringify(root));
          return removed;
        })();
      },
    };

    host.api.register({
      path: '/server/database/list',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Namespaces in the database',
      handler: () => ({ namespaces: database.namespaces(), backups: [] }),
    });
    host.api.register({
      path: '/server/database/item',
      verbs: ['GET', 'POST', 'DELETE'],
      role: 'viewer',
      params: Type.Object({
        namespace: Type.String({ minLength: 1 }),
        key: Type.Optional(keyParam),
        value: Type.Optional(Type.Unknown()),
      }),
      description: 'Read, write or delete one item by dot path (or array of parts)',
      handler: ({ namespace, key, value }, context) => {
        if (context.verb === 'GET')
          return { namespace, key: key ?? null, value: database.get(namespace, key) };
        if (READ_ONLY_NAMESPACES.has(namespace) || HIDDEN_NAMESPACES.has(namespace)) {
          throw errors.forbidden(`Namespace '${namespace}' is read-only`);
        }
        if (key === undefined) throw errors.missingParam('key');
        if (context.verb === 'POST') {
          if (value === undefined) throw errors.missingParam('value');
          return { namespace, key, value: database.post(namespace, key, value as Json) };
        }
        return { namespace, key, value: database.delete(namespace, key) };
      },
    });
    return database;
  },
});

function splitKey(key: string | string[]): string[] {
  const parts = Array.isArray(key) ? key : key.split('.');
  if (parts.some((p) => p === '')) throw errors.invalidParam('key', `"${joinKey(key)}" has an empty part`);
  return parts;
}

function joinKey(key: string | string[]): string {
  return Array.isArray(key) ? key.join('.') : key;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
