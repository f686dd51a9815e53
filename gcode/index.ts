// Public API of the shared G-code package (server, virtual printer and the UI's preview worker).

export {
  type Analyser,
  type Analysis,
  analyseGcode,
  type BoundingBox,
  type ByteRange,
  completeMetadata,
  createAnalyser,
  type Layer,
  type MachineLimits,
  type ObjectInfo,
  type ObjectLabelStyle,
} from './analysis.ts';
export { isAscii, utf8ByteLength } from './bytes.ts';
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
export { extractMetadata, type GcodeMetadata, METADATA_READ_SIZE } from './metadata.ts';
export * from './replies.ts';
export {
  looksLikeTemperature,
  parseTemperatures,
  type TemperatureReading,
  type TemperatureReport,
} from './temperature.ts';
export {
  type DecodedImage,
  decodeBase64,
  decodeQoi,
  encodePng,
  findThumbnails,
  type Thumbnail,
  type ThumbnailFormat,
} from './thumbnails.ts';
