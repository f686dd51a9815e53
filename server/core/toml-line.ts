// TOML values and keys written on one line, for the config template (server) and the MQTT settings form
// (web UI). No imports, so the UI bundles it as it is.

export type TomlValue = string | number | boolean | TomlValue[] | { [key: string]: TomlValue };

/** A bare key when TOML allows one, else a quoted one (`"gcode_macro PAUSE"`). */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** A value on one line: a table stays `{ … }` rather than opening a `[key]` section. */
export function tomlValue(value: TomlValue): string {
  // JSON's string escapes are all valid in a TOML basic string.
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  const entries = Object.entries(value).map(([key, v]) => `${tomlKey(key)} = ${tomlValue(v)}`);
  return entries.length ? `{ ${entries.join(', ')} }` : '{}';
}
