// The [mqtt] table: Moonraker's key names where it has them, and the checks TOML types cannot express.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../core/errors.ts';

export const mqttConfig = Type.Object({
  address: Type.String({
    default: 'localhost',
    description:
      'Broker host name or IP address, or a URL such as mqtt://broker:1883, mqtts://broker or ws://broker:9001/mqtt.',
  }),
  port: Type.Integer({
    default: 1883,
    minimum: 1,
    maximum: 65535,
    description: 'Broker TCP port, used when address is not a URL with a port (8883 is usual with TLS).',
  }),
  username: Type.String({ default: '', description: 'User name for the broker; empty for anonymous.' }),
  password: Type.String({
    default: '',
    secret: true,
    description: 'Password for the broker; prefer password_file. server.config shows it to admins only.',
  }),
  password_file: Type.String({
    default: '',
    description:
      "File whose first line is the broker password, relative to the data folder's config/ directory.",
  }),
  client_id: Type.String({
    default: '',
    description:
      'MQTT client id; empty lets the client pick a random one. Two clients with one id evict each other.',
  }),
  mqtt_protocol: Type.Union([Type.Literal('v3.1'), Type.Literal('v3.1.1'), Type.Literal('v5')], {
    default: 'v3.1.1',
    description: "Protocol version; Home Assistant's own client speaks v3.1.1.",
  }),
  enable_tls: Type.Boolean({
    default: false,
    description: 'Connect with TLS (mqtts) when address is a host name.',
  }),
  instance_name: Type.String({
    default: '',
    description:
      'First part of every topic ({instance_name}/moonraker/...); empty uses the host name. No "+", "#" or "/".',
  }),
  default_qos: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 2,
    description: 'QoS of status and Home Assistant state messages.',
  }),
  api_qos: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 2,
    description: 'QoS of the API request subscription and of its responses.',
  }),
  enable_moonraker_api: Type.Boolean({
    default: true,
    description:
      'Answer JSON-RPC requests on {instance_name}/moonraker/api/request. Anyone who may publish there on the broker can control the printer.',
  }),
  status_objects: Type.Record(Type.String(), Type.Array(Type.String()), {
    default: {},
    description:
      'Printer objects published on {instance_name}/klipper/status, object = list of fields; an empty list means every field, e.g. { toolhead = ["position"], print_stats = [] }.',
  }),
  status_interval: Type.Number({
    default: 0,
    minimum: 0,
    maximum: 3600,
    description:
      'Seconds over which status changes are merged into one message; 0 publishes each change (at most every 250 ms).',
  }),
  publish_split_status: Type.Boolean({
    default: false,
    description:
      'Also publish each status field, retained, on {instance_name}/klipper/state/{object}/{field}.',
  }),
  enable_home_assistant: Type.Boolean({
    default: true,
    description: 'Publish Home Assistant discovery, state topics and buttons for the printer.',
  }),
  discovery_prefix: Type.String({
    default: 'homeassistant',
    description: "Home Assistant's MQTT discovery prefix (its birth messages arrive on {prefix}/status).",
  }),
});

export type MqttConfig = Static<typeof mqttConfig>;

/** What the client needs, after the checks; every problem names the file, table and key. */
export interface MqttSettings {
  /** For display: scheme, host and port, never the password. */
  brokerUrl: string;
  url: string;
  username: string | undefined;
  password: string | undefined;
  clientId: string | undefined;
  protocolVersion: 3 | 4 | 5;
  instanceName: string;
  /** `instance_name` restricted to the characters Home Assistant accepts in ids. */
  nodeId: string;
}

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];
const PROTOCOL_VERSIONS = { 'v3.1': 3, 'v3.1.1': 4, v5: 5 } as const;

export function resolveMqttSettings(
  config: MqttConfig,
  configDir: string,
  configFile: string | null,
): MqttSettings {
  const where = `${configFile ? basename(configFile) : 'config'} [mqtt]`;
  const problems: string[] = [];
  let url = '';
  let brokerUrl = '';
  const address = config.address.trim();
  if (address === '') problems.push(`${where}: key "address" must name the broker, got ""`);
  else if (address.includes('://')) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(address);
    } catch {
      problems.push(`${where}: key "address" is not a valid URL: ${JSON.stringify(address)}`);
    }
    if (parsed && !SCHEMES.includes(parsed.protocol)) {
      problems.push(
        `${where}: key "address" has scheme "${parsed.protocol.replace(':', '')}"; use mqtt, mqtts, ws or wss`,
      );
    } else if (parsed && parsed.hostname === '') {
      problems.push(`${where}: key "address" has no host: ${JSON.stringify(address)}`);
    } else if (parsed) {
      if (parsed.port === '' && !parsed.protocol.startsWith('ws')) parsed.port = String(config.port);
      url = parsed.toString();
      brokerUrl = `${parsed.protocol}//${parsed.host}${parsed.protocol.startsWith('ws') ? parsed.pathname : ''}`;
    }
  } else if (/[\s/@]/.test(address)) {
    problems.push(
      `${where}: key "address" must be a host name, an IP address or a URL, got ${JSON.stringify(address)}`,
    );
  } else {
    const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
    brokerUrl = `${config.enable_tls ? 'mqtts' : 'mqtt'}://${host}:${config.port}`;
    url = brokerUrl;
  }

  let password = config.password === '' ? undefined : config.password;
  if (config.password_file !== '') {
    const file = isAbsolute(config.password_file)
      ? config.password_file
      : join(configDir, config.password_file);
    try {
      password = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      problems.push(`${where}: key "password_file": cannot read ${file} (${code})`);
    }
  }

  const instanceName = config.instance_name.trim() === '' ? hostname() : config.instance_name.trim();
  if (/[+#/]/.test(instanceName) || instanceName === '') {
    problems.push(
      `${where}: key "instance_name" must not contain "+", "#" or "/", got ${JSON.stringify(instanceName)}`,
    );
  }
  const prefix = config.discovery_prefix;
  if (prefix === '' || /[+#]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/')) {
    problems.push(
      `${where}: key "discovery_prefix" must be a topic without "+", "#" or a leading/trailing "/", got ${JSON.stringify(prefix)}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    brokerUrl,
    url,
    username: config.username === '' ? undefined : config.username,
    password,
    clientId: config.client_id === '' ? undefined : config.client_id,
    protocolVersion: PROTOCOL_VERSIONS[config.mqtt_protocol],
    instanceName,
    nodeId: instanceName.replace(/[^a-zA-Z0-9_-]/g, '_'),
  };
}
