// OctoPrint's REST replies built from Brim's printer objects, in the shapes PrusaSlicer, OrcaSlicer and
// Cura's OctoPrint plugin read (Moonraker's octoprint_compat, plus fields real OctoPrint sends).
import type { CallerIdentity } from '../api/registry.ts';
import type { Webcam } from '../camera/webcams.ts';
import type { StatusFields } from '../core/status-store.ts';

/** The OctoPrint version reported; Cura reads it, PrusaSlicer only needs `api` and `text`. */
export const OCTOPRINT_SERVER_VERSION = '1.5.0';
export const OCTOPRINT_API_VERSION = '0.1';

/** OctoPrint's state texts as Cura's plugin matches them (`startsWith("Error")`, `== "Operational"`...). */
export type OctoprintState = 'Operational' | 'Printing' | 'Paused' | 'Error' | 'Offline';

/**
 * The printer's state in OctoPrint's words. The link still connecting is Offline, a halted or failed
 * link is Error; with the printer ready, print_stats decides. A finished, cancelled or failed job leaves
 * the printer Operational (Moonraker reports cancelled and error as Error, which Cura shows as a fault).
 */
export function printerState(webhooks: string | undefined, printStats: string | undefined): OctoprintState {
  if (webhooks === undefined || webhooks === 'startup') return 'Offline';
  if (webhooks !== 'ready') return 'Error';
  if (printStats === 'printing') return 'Printing';
  if (printStats === 'paused') return 'Paused';
  return 'Operational';
}

export interface StateFlags {
  operational: boolean;
  printing: boolean;
  cancelling: boolean;
  pausing: boolean;
  resuming: boolean;
  finishing: boolean;
  closedOrError: boolean;
  error: boolean;
  paused: boolean;
  ready: boolean;
  sdReady: boolean;
}

export function stateFlags(state: OctoprintState): StateFlags {
  const down = state === 'Error' || state === 'Offline';
  return {
    operational: !down,
    printing: state === 'Printing',
    cancelling: false,
    pausing: false,
    resuming: false,
    finishing: false,
    closedOrError: down,
    error: state === 'Error',
    paused: state === 'Paused',
    ready: state === 'Operational',
    sdReady: false,
  };
}

export interface Temperature {
  actual: number;
  target: number;
  offset: number;
}

/** Klipper heater names → OctoPrint's: extruder → tool0, extruder1 → tool1, heater_bed → bed. */
export function octoprintHeaterName(heater: string): string | null {
  if (heater === 'extruder') return 'tool0';
  const tool = /^extruder(\d+)$/.exec(heater);
  if (tool) return `tool${Number(tool[1])}`;
  if (heater === 'heater_bed') return 'bed';
  if (heater === 'heater_generic chamber') return 'chamber';
  return null;
}

/** `temperature` of /api/printer, from the `heaters` object and each heater's own object. */
export function temperatures(
  heaters: readonly string[],
  read: (name: string) => StatusFields | undefined,
): Record<string, Temperature> {
  const result: Record<string, Temperature> = {};
  for (const heater of heaters) {
    const name = octoprintHeaterName(heater);
    const fields = name ? read(heater) : undefined;
    if (!name || !fields) continue;
    result[name] = {
      actual: Math.round(num(fields.temperature) * 100) / 100,
      target: num(fields.target),
      offset: 0,
    };
  }
  return result;
}

export function printerReply(
  state: OctoprintState,
  temperature: Record<string, Temperature>,
  exclude: readonly string[] = [],
): Record<string, unknown> {
  const reply: Record<string, unknown> = {};
  if (!exclude.includes('temperature')) reply.temperature = temperature;
  if (!exclude.includes('sd')) reply.sd = { ready: false };
  if (!exclude.includes('state')) reply.state = { text: state, flags: stateFlags(state) };
  return reply;
}

/** What /api/job needs to know about the file of the job, from its metadata. */
export interface JobFileFacts {
  size: number;
  modified: number;
  estimated_time?: number;
  filament_total?: number;
}

export interface JobInput {
  state: OctoprintState;
  /** The print_stats object, when a job runner is present. */
  printStats?: StatusFields;
  /** The virtual_sdcard object, when a job runner is present. */
  sdcard?: StatusFields;
  /** The file /api/job reports (gcodes-relative), or null for none. */
  file: string | null;
  facts: JobFileFacts | null;
}

const NO_JOB = {
  job: {
    file: { name: null, path: null, display: null, origin: null, size: null, date: null },
    estimatedPrintTime: null,
    lastPrintTime: null,
    filament: null,
    user: null,
  },
  progress: {
    completion: null,
    filepos: null,
    printTime: null,
    printTimeLeft: null,
    printTimeLeftOrigin: null,
  },
};

/**
 * /api/job: the file, its slicer estimate and the progress. `completion` is a percentage, `printTime`
 * counts from the start (pauses included), `printTimeLeft` comes from the slicer's estimate when the file
 * has one ("analysis"), else from the progress so far ("linear").
 */
export function jobReply(input: JobInput): Record<string, unknown> {
  const { state, printStats, sdcard, file, facts } = input;
  if (!file) return { ...NO_JOB, state };
  const name = file.split('/').pop() ?? file;
  const sameJob = typeof printStats?.filename === 'string' && printStats.filename === file;
  const jobState = sameJob ? String(printStats?.state ?? '') : '';
  const active = state === 'Printing' || state === 'Paused';
  const progress = sameJob ? num(sdcard?.progress) : 0;
  const printDuration = sameJob ? num(printStats?.print_duration) : 0;
  const totalDuration = sameJob ? num(printStats?.total_duration) : 0;
  const estimate = facts?.estimated_time;
  let left: number | null = null;
  let leftOrigin: string | null = null;
  if (active && sameJob) {
    if (estimate !== undefined && estimate > 0) {
      left = Math.max(0, Math.round(estimate - printDuration));
      leftOrigin = 'analysis';
    } else if (progress > 0) {
      left = Math.max(0, Math.round(totalDuration / progress - totalDuration));
      leftOrigin = 'linear';
    }
  } else if (jobState === 'complete') {
    left = 0;
    leftOrigin = estimate !== undefined ? 'analysis' : 'linear';
  }
  const reply: Record<string, unknown> = {
    job: {
      file: {
        name,
        path: file,
        display: name,
        origin: 'local',
        size: facts?.size ?? null,
        date: facts ? Math.floor(facts.modified) : null,
      },
      estimatedPrintTime: estimate ?? null,
      lastPrintTime: null,
      filament:
        facts?.filament_total !== undefined
          ? { tool0: { length: facts.filament_total, volume: null } }
          : null,
      user: null,
    },
    progress: {
      completion: sameJob ? (jobState === 'complete' ? 100 : Math.round(progress * 10000) / 100) : null,
      filepos: sameJob ? num(sdcard?.file_position) : null,
      printTime: sameJob && jobState !== 'standby' ? Math.round(totalDuration) : null,
      printTimeLeft: left,
      printTimeLeftOrigin: leftOrigin,
    },
    state,
  };
  if (sameJob && jobState === 'error' && typeof printStats?.message === 'string' && printStats.message) {
    reply.error = printStats.message;
  }
  return reply;
}

export function versionReply(brimVersion: string): Record<string, string> {
  return {
    server: OCTOPRINT_SERVER_VERSION,
    api: OCTOPRINT_API_VERSION,
    // PrusaSlicer and OrcaSlicer refuse a host whose text does not start with "OctoPrint".
    text: `OctoPrint (Brim ${brimVersion})`,
  };
}

/** /api/login and /api/currentuser: the caller as OctoPrint describes a user. */
export function userReply(identity: CallerIdentity): Record<string, unknown> {
  const groups =
    identity.role === 'admin' ? ['admins', 'users'] : identity.role === 'operator' ? ['users'] : ['readonly'];
  return {
    _is_external_client: false,
    _login_mechanism:
      identity.source === 'api_key' ? 'apikey' : identity.source === 'trusted' ? 'autologin' : 'http',
    name: identity.username,
    active: true,
    user: true,
    admin: identity.role === 'admin',
    apikey: null,
    permissions: [],
    groups,
  };
}

/** OctoPrint's single-camera settings; Brim's rotation is clockwise, OctoPrint's rotate90 counter-clockwise. */
export function webcamSettings(webcam: Webcam | undefined): Record<string, unknown> {
  if (!webcam) {
    return {
      webcamEnabled: false,
      streamUrl: '',
      snapshotUrl: '',
      flipH: false,
      flipV: false,
      rotate90: false,
      streamRatio: '4:3',
    };
  }
  // 180° is both flips; 270° clockwise is OctoPrint's rotate90; 90° is rotate90 plus 180°.
  const half = webcam.rotation === 180 || webcam.rotation === 90;
  return {
    webcamEnabled: true,
    streamUrl: webcam.stream_url,
    snapshotUrl: webcam.snapshot_url,
    flipH: webcam.flip_horizontal !== half,
    flipV: webcam.flip_vertical !== half,
    rotate90: webcam.rotation === 90 || webcam.rotation === 270,
    streamRatio: webcam.aspect_ratio === '16:9' ? '16:9' : '4:3',
  };
}

/** What Cura's plugin reads from OctoPrint's UltimakerFormatPackage plugin to send .ufp files. */
const UFP_PLUGIN = {
  align_inline_thumbnail: false,
  inline_thumbnail: false,
  inline_thumbnail_align_value: 'left',
  inline_thumbnail_scale_value: '50',
  installed: true,
  installed_version: '0.2.2',
  scale_inline_thumbnail: false,
  state_panel_thumbnail: true,
};

export function settingsReply(webcams: readonly Webcam[], enableUfp: boolean): Record<string, unknown> {
  const enabled = webcams.filter((w) => w.enabled && w.stream_url !== '');
  const plugins: Record<string, unknown> = {};
  if (enableUfp) plugins.UltimakerFormatPackage = { ...UFP_PLUGIN };
  // Cura lists every camera of OctoPrint's MultiCam plugin; one camera needs no plugin.
  if (enabled.length > 1) {
    plugins.multicam = {
      multicam_profiles: enabled.map((w) => ({ name: w.name, URL: w.stream_url, ...webcamSettings(w) })),
    };
  }
  return {
    plugins,
    feature: { sdSupport: false, temperatureGraph: false },
    webcam: webcamSettings(enabled[0]),
  };
}

export interface ProfileFacts {
  heaters: readonly string[];
  kinematics: string;
  axisMinimum: readonly number[];
  axisMaximum: readonly number[];
  /** The board's MACHINE_TYPE from M115, or '' when unknown. */
  model: string;
}

/** /api/printerprofiles: one `_default` profile with the printer's volume and heaters. */
export function printerProfilesReply(facts: ProfileFacts): Record<string, unknown> {
  const extruders = Math.max(1, facts.heaters.filter((h) => /^extruder\d*$/.test(h)).length);
  const size = (i: number) => Math.max(0, (facts.axisMaximum[i] ?? 0) - (facts.axisMinimum[i] ?? 0));
  const delta = facts.kinematics === 'delta';
  return {
    profiles: {
      _default: {
        id: '_default',
        name: 'Default',
        color: 'default',
        model: facts.model || 'Default',
        default: true,
        current: true,
        resource: null,
        heatedBed: facts.heaters.includes('heater_bed'),
        heatedChamber: facts.heaters.includes('heater_generic chamber'),
        volume: {
          width: size(0),
          depth: size(1),
          height: size(2),
          formFactor: delta ? 'circular' : 'rectangular',
          origin: delta ? 'center' : 'lowerleft',
          custom_box: false,
        },
        extruder: {
          count: extruders,
          offsets: Array.from({ length: extruders }, () => [0, 0]),
          nozzleDiameter: 0.4,
          sharedNozzle: false,
          defaultExtrusionLength: 5,
        },
        // OctoPrint's default jog speeds, mm/min (Cura uses them for its jog buttons).
        axes: {
          x: { speed: 6000, inverted: false },
          y: { speed: 6000, inverted: false },
          z: { speed: 200, inverted: false },
          e: { speed: 300, inverted: false },
        },
      },
    },
  };
}

/** OctoPrint's truthy form values ("true", "yes", "y", "1", any case). */
export function isTruthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && ['true', 'yes', 'y', '1'].includes(value.trim().toLowerCase());
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
