// Public API of the shared G-code package (server, virtual printer and the UI's preview worker).

export { checksum, numberedLine } from './checksum.ts';
export {
  type Capability,
  describeFirmware,
  detectFirmwareFamily,
  type FirmwareFamily,
  type FirmwareInfo,
  parseCapability,
  parseFirmwareFields,
  parseM115,
} from './firmware.ts';
export {
  type GcodeLine,
  type LineError,
  type LineResult,
  parseLine,
  STRING_ARGUMENT_COMMANDS,
  stripForWire,
} from './line.ts';
export * from './replies.ts';
export {
  looksLikeTemperature,
  parseTemperatures,
  type TemperatureReading,
  type TemperatureReport,
} from './temperature.ts';
