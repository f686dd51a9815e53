// The `mqtt` component: one broker connection carrying Moonraker's MQTT API, status topics and Home Assistant discovery.
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { mqttConfig, resolveMqttSettings } from './config.ts';
import { HomeAssistant } from './home-assistant.ts';
import { type LinkStatus, MqttLink, type QoS } from './link.ts';
import { MqttApi, StatusPublisher } from './moonraker.ts';

export interface Mqtt extends ComponentInstance {
  /** Connection state for server.mqtt.status and plugins that publish through the same link. */
  linkStatus(): LinkStatus;
  link: MqttLink;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    mqtt: Mqtt;
  }
}

export const mqttComponent = defineComponent({
  name: 'mqtt',
  config: mqttConfig,
  optional: true,
  enabledByTable: true,
  advertiseAs: 'mqtt',
  checkConfig(config, files) {
    resolveMqttSettings(config, files.configDir, files.configFile);
  },
  create(host): Mqtt {
    const config = host.config;
    const settings = resolveMqttSettings(config, host.paths.config, host.runtime.configFile());
    const link = new MqttLink(settings, host.log, (message) => host.warn(message));
    const api = config.enable_moonraker_api
      ? new MqttApi(host.api, link, host.log, settings.instanceName, config.api_qos as QoS)
      : null;
    const publisher = new StatusPublisher(host.status, host.clock, link, settings.instanceName, {
      objects: config.status_objects,
      intervalS: config.status_interval,
      split: config.publish_split_status,
      qos: config.default_qos as QoS,
    });
    const homeAssistant = config.enable_home_assistant
      ? new HomeAssistant(link, host.status, host.api, host.clock, host.log, {
          instanceName: settings.instanceName,
          nodeId: settings.nodeId,
          discoveryPrefix: config.discovery_prefix,
          qos: config.default_qos as QoS,
        })
      : null;

    // Moonraker keeps server.mqtt.* off the MQTT API itself.
    host.api.register({
      path: '/server/mqtt/status',
      verbs: ['GET'],
      role: 'viewer',
      transports: ['http', 'websocket'],
      description: 'The MQTT broker connection: state, broker, last error',
      handler: () => link.status(),
    });

    return {
      link,
      linkStatus: () => link.status(),
      async start() {
        api?.start();
        publisher.start();
        homeAssistant?.start();
        await link.start();
      },
      async stop() {
        homeAssistant?.stop();
        publisher.stop();
        api?.stop();
        await link.stop();
      },
    };
  },
});
