// Moonraker merges query string and body (body wins) and honours `key:int|float|bool|json` hints.
import { errors } from '../core/errors.ts';

export function parseQueryArgs(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of Object.entries(query)) {
    const value = Array.isArray(rawValue) ? rawValue[rawValue.length - 1] : rawValue;
    const [key, hint] = splitHint(rawKey);
    out[key] = hint ? convertHint(key, hint, String(value)) : value;
  }
  return out;
}

function splitHint(rawKey: string): [string, string | null] {
  const colon = rawKey.lastIndexOf(':');
  if (colon <= 0) return [rawKey, null];
  const hint = rawKey.slice(colon + 1);
  return ['int', 'float', 'bool', 'json'].includes(hint) ? [rawKey.slice(0, colon), hint] : [rawKey, null];
}

function convertHint(key: string, hint: string, value: string): unknown {
  if (hint === 'int' || hint === 'float') {
    const number = Number(value);
    if (value.trim() === '' || Number.isNaN(number) || (hint === 'int' && !Number.isInteger(number))) {
      throw errors.invalidParam(key, `"${value}" is not ${hint === 'int' ? 'an integer' : 'a number'}`);
    }
    return number;
  }
  if (hint === 'bool') {
    if (/^(true|1)$/i.test(value)) return true;
    if (/^(false|0)$/i.test(value)) return false;
    throw errors.invalidParam(key, `"${value}" is not true or false`);
  }
  try {
    return JSON.parse(value);
  } catch {
    throw errors.invalidParam(key, 'is not valid JSON');
  }
}

/** For GET /printer/objects/query?extruder&toolhead=temperature,target: bare keys mean all fields. */
export function objectsFromQuery(query: Record<string, unknown>): Record<string, string[] | null> {
  const objects: Record<string, string[] | null> = {};
  for (const [name, value] of Object.entries(query)) {
    const text = Array.isArray(value) ? value.join(',') : String(value ?? '');
    objects[name] = text === '' ? null : text.split(',').filter(Boolean);
  }
  return objects;
}
