import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { type MqttConfig, mqttConfig, resolveMqttSettings } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'brim-mqtt-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function settingsOf(table: Partial<MqttConfig>) {
  const config = Value.Default(mqttConfig, structuredClone(table)) as MqttConfig;
  return resolveMqttSettings(config, dir, '/etc/brim/brim.toml');
}

function problemsOf(table: Partial<MqttConfig>): string[] {
  try {
    settingsOf(table);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('[mqtt] settings', () => {
  it('builds the broker URL from address and port, with TLS when asked', () => {
    expect(settingsOf({ address: 'broker.lan', port: 1884 }).url).toBe('mqtt://broker.lan:1884');
    expect(settingsOf({ address: 'broker.lan', enable_tls: true, port: 8883 }).url).toBe(
      'mqtts://broker.lan:8883',
    );
    expect(settingsOf({ address: '::1' }).brokerUrl).toBe('mqtt://[::1]:1883');
  });

  it('takes a URL as the address, filling in the port for mqtt but not for websockets', () => {
    expect(settingsOf({ address: 'mqtts://broker:8884' }).url).toBe('mqtts://broker:8884');
    expect(settingsOf({ address: 'mqtt://broker', port: 1999 }).url).toBe('mqtt://broker:1999');
    expect(settingsOf({ address: 'ws://broker:9001/mqtt' }).brokerUrl).toBe('ws://broker:9001/mqtt');
  });

  it('names file, table and key of a bad address', () => {
    expect(problemsOf({ address: 'http://broker' })).toEqual([
      'brim.toml [mqtt]: key "address" has scheme "http"; use mqtt, mqtts, ws or wss',
    ]);
    expect(problemsOf({ address: 'mqtt://' })).toEqual([
      'brim.toml [mqtt]: key "address" has no host: "mqtt://"',
    ]);
    expect(problemsOf({ address: 'mqtt://[broker' })).toEqual([
      'brim.toml [mqtt]: key "address" is not a valid URL: "mqtt://[broker"',
    ]);
    expect(problemsOf({ address: 'user@broker' })).toEqual([
      'brim.toml [mqtt]: key "address" must be a host name, an IP address or a URL, got "user@broker"',
    ]);
    expect(problemsOf({ address: ' ' })).toEqual([
      'brim.toml [mqtt]: key "address" must name the broker, got ""',
    ]);
  });

  it('refuses topic wildcards in instance_name and discovery_prefix', () => {
    expect(problemsOf({ instance_name: 'printer#1', discovery_prefix: 'ha/' })).toEqual([
      'brim.toml [mqtt]: key "instance_name" must not contain "+", "#" or "/", got "printer#1"',
      'brim.toml [mqtt]: key "discovery_prefix" must be a topic without "+", "#" or a leading/trailing "/", got "ha/"',
    ]);
  });

  it('reads the first line of password_file, relative to the config folder', () => {
    writeFileSync(join(dir, 'password'), 'hunter2\nignored\n');
    expect(settingsOf({ password: 'overridden', password_file: 'password' }).password).toBe('hunter2');
    expect(settingsOf({}).password).toBeUndefined();
  });

  it('defaults the instance name to the host name and derives an id Home Assistant accepts', () => {
    expect(settingsOf({}).instanceName).not.toBe('');
    expect(settingsOf({ instance_name: 'Ender 3.lan' }).nodeId).toBe('Ender_3_lan');
    expect(settingsOf({ mqtt_protocol: 'v5' }).protocolVersion).toBe(5);
  });
});
