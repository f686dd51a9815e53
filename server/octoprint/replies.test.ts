import { describe, expect, it } from 'vitest';
import type { Webcam } from '../camera/webcams.ts';
import {
  isTruthy,
  jobReply,
  octoprintHeaterName,
  printerProfilesReply,
  printerReply,
  printerState,
  settingsReply,
  stateFlags,
  temperatures,
  userReply,
  versionReply,
  webcamSettings,
} from './replies.ts';

describe('printer state', () => {
  it('follows the link, then print_stats, in the words Cura matches', () => {
    expect(printerState(undefined, undefined)).toBe('Offline');
    expect(printerState('startup', 'printing')).toBe('Offline');
    expect(printerState('shutdown', 'printing')).toBe('Error');
    expect(printerState('error', undefined)).toBe('Error');
    expect(printerState('ready', undefined)).toBe('Operational');
    expect(printerState('ready', 'standby')).toBe('Operational');
    expect(printerState('ready', 'printing')).toBe('Printing');
    expect(printerState('ready', 'paused')).toBe('Paused');
    // A job that ended, however it ended, leaves a printer that can print again.
    for (const ended of ['complete', 'cancelled', 'error'])
      expect(printerState('ready', ended)).toBe('Operational');
  });

  it('sets the flags Cura reads to pick idle, printing, paused or error', () => {
    expect(stateFlags('Operational')).toMatchObject({
      operational: true,
      ready: true,
      printing: false,
      paused: false,
      error: false,
      closedOrError: false,
    });
    expect(stateFlags('Printing')).toMatchObject({ operational: true, ready: false, printing: true });
    expect(stateFlags('Paused')).toMatchObject({ operational: true, paused: true, printing: false });
    expect(stateFlags('Error')).toMatchObject({ operational: false, error: true, closedOrError: true });
    expect(stateFlags('Offline')).toMatchObject({ operational: false, error: false, closedOrError: true });
  });
});

describe('temperatures', () => {
  it('names heaters as OctoPrint does and skips what it has no name for', () => {
    expect(octoprintHeaterName('extruder')).toBe('tool0');
    expect(octoprintHeaterName('extruder1')).toBe('tool1');
    expect(octoprintHeaterName('extruder12')).toBe('tool12');
    expect(octoprintHeaterName('heater_bed')).toBe('bed');
    expect(octoprintHeaterName('heater_generic chamber')).toBe('chamber');
    expect(octoprintHeaterName('temperature_sensor mcu')).toBeNull();
  });

  it('reads each heater object, rounding the actual temperature', () => {
    const objects: Record<string, Record<string, unknown>> = {
      extruder: { temperature: 205.123456, target: 210 },
      extruder1: { temperature: 24.5, target: 0 },
      heater_bed: { temperature: 59.996, target: 60 },
      'temperature_sensor mcu': { temperature: 40 },
    };
    expect(
      temperatures(
        ['extruder', 'extruder1', 'heater_bed', 'temperature_sensor mcu', 'gone'],
        (n) => objects[n],
      ),
    ).toEqual({
      tool0: { actual: 205.12, target: 210, offset: 0 },
      tool1: { actual: 24.5, target: 0, offset: 0 },
      bed: { actual: 60, target: 60, offset: 0 },
    });
  });

  it('leaves out what `exclude` names', () => {
    const all = printerReply('Operational', {});
    expect(Object.keys(all)).toEqual(['temperature', 'sd', 'state']);
    expect(Object.keys(printerReply('Operational', {}, ['sd', 'temperature']))).toEqual(['state']);
  });
});

describe('/api/job', () => {
  const facts = { size: 1000, modified: 1_700_000_000.5, estimated_time: 600, filament_total: 1234.5 };

  it('reports no job with nulls, as Moonraker does', () => {
    const reply = jobReply({ state: 'Operational', file: null, facts: null });
    expect(reply).toMatchObject({
      job: { file: { name: null }, estimatedPrintTime: null, filament: null, user: null },
      progress: { completion: null, filepos: null, printTime: null, printTimeLeft: null },
      state: 'Operational',
    });
  });

  it('reports a running job with percent completion and the slicer estimate left', () => {
    const reply = jobReply({
      state: 'Printing',
      printStats: {
        filename: 'sub/part.gcode',
        state: 'printing',
        total_duration: 130.4,
        print_duration: 100,
      },
      sdcard: { progress: 0.25, file_position: 250, file_size: 1000 },
      file: 'sub/part.gcode',
      facts,
    });
    expect(reply).toEqual({
      job: {
        file: {
          name: 'part.gcode',
          path: 'sub/part.gcode',
          display: 'part.gcode',
          origin: 'local',
          size: 1000,
          date: 1_700_000_000,
        },
        estimatedPrintTime: 600,
        lastPrintTime: null,
        filament: { tool0: { length: 1234.5, volume: null } },
        user: null,
      },
      progress: {
        completion: 25,
        filepos: 250,
        printTime: 130,
        printTimeLeft: 500,
        printTimeLeftOrigin: 'analysis',
      },
      state: 'Printing',
    });
  });

  it('falls back to a linear estimate without a slicer estimate', () => {
    const reply = jobReply({
      state: 'Paused',
      printStats: { filename: 'a.gcode', state: 'paused', total_duration: 100, print_duration: 90 },
      sdcard: { progress: 0.5, file_position: 500 },
      file: 'a.gcode',
      facts: { size: 1000, modified: 0 },
    });
    expect(reply.progress).toMatchObject({
      printTimeLeft: 100,
      printTimeLeftOrigin: 'linear',
      completion: 50,
    });
  });

  it('reports a finished job as 100 % with nothing left, and a failed one with its error', () => {
    const done = jobReply({
      state: 'Operational',
      printStats: { filename: 'a.gcode', state: 'complete', total_duration: 700, print_duration: 650 },
      sdcard: { progress: 1 },
      file: 'a.gcode',
      facts,
    });
    expect(done.progress).toMatchObject({ completion: 100, printTimeLeft: 0, printTime: 700 });
    const failed = jobReply({
      state: 'Operational',
      printStats: { filename: 'a.gcode', state: 'error', message: 'Firmware restarted' },
      file: 'a.gcode',
      facts,
    });
    expect(failed.error).toBe('Firmware restarted');
  });

  it('shows a selected file without the progress of another job', () => {
    const reply = jobReply({
      state: 'Operational',
      printStats: { filename: 'old.gcode', state: 'complete', total_duration: 5 },
      sdcard: { progress: 1, file_position: 1000 },
      file: 'new.gcode',
      facts,
    });
    expect(reply.job).toMatchObject({ file: { name: 'new.gcode' }, estimatedPrintTime: 600 });
    expect(reply.progress).toEqual({
      completion: null,
      filepos: null,
      printTime: null,
      printTimeLeft: null,
      printTimeLeftOrigin: null,
    });
  });
});

describe('handshake replies', () => {
  it('starts the version text with "OctoPrint", as PrusaSlicer and OrcaSlicer require', () => {
    expect(versionReply('v0.9.3-1-gbrim')).toEqual({
      server: '1.5.0',
      api: '0.1',
      text: 'OctoPrint (Brim v0.9.3-1-gbrim)',
    });
  });

  it('describes the caller as an OctoPrint user, with groups from the role', () => {
    expect(userReply({ username: '_api_key', role: 'admin', source: 'api_key' })).toMatchObject({
      name: '_api_key',
      admin: true,
      groups: ['admins', 'users'],
      _login_mechanism: 'apikey',
    });
    expect(userReply({ username: 'ann', role: 'operator', source: 'token' })).toMatchObject({
      name: 'ann',
      admin: false,
      groups: ['users'],
    });
    expect(userReply({ username: 'bob', role: 'viewer', source: 'token' }).groups).toEqual(['readonly']);
  });

  it('turns a clockwise rotation into OctoPrint’s counter-clockwise rotate90 and flips', () => {
    const cam = (rotation: number, flipH = false): Webcam =>
      ({
        name: 'c',
        enabled: true,
        stream_url: '/webcam/?action=stream',
        snapshot_url: '/webcam/?action=snapshot',
        flip_horizontal: flipH,
        flip_vertical: false,
        rotation,
        aspect_ratio: '16:9',
      }) as Webcam;
    expect(webcamSettings(cam(0))).toEqual({
      webcamEnabled: true,
      streamUrl: '/webcam/?action=stream',
      snapshotUrl: '/webcam/?action=snapshot',
      flipH: false,
      flipV: false,
      rotate90: false,
      streamRatio: '16:9',
    });
    expect(webcamSettings(cam(270))).toMatchObject({ rotate90: true, flipH: false, flipV: false });
    expect(webcamSettings(cam(180))).toMatchObject({ rotate90: false, flipH: true, flipV: true });
    expect(webcamSettings(cam(90))).toMatchObject({ rotate90: true, flipH: true, flipV: true });
    expect(webcamSettings(cam(180, true))).toMatchObject({ flipH: false, flipV: true });
    expect(webcamSettings(undefined)).toMatchObject({ webcamEnabled: false, streamUrl: '' });
  });

  it('lists the UFP plugin when enabled, and several cameras as MultiCam profiles', () => {
    const cam = (name: string, url: string, enabled = true) =>
      ({ name, enabled, stream_url: url, snapshot_url: '', rotation: 0, aspect_ratio: '4:3' }) as Webcam;
    const one = settingsReply([cam('off', '/x', false), cam('front', '/front')], true);
    expect(Object.keys(one.plugins as object)).toEqual(['UltimakerFormatPackage']);
    expect(one.webcam).toMatchObject({ streamUrl: '/front' });
    const two = settingsReply([cam('front', '/front'), cam('top', '/top')], false);
    expect(two.plugins).toEqual({
      multicam: {
        multicam_profiles: [
          expect.objectContaining({ name: 'front', URL: '/front' }),
          expect.objectContaining({ name: 'top', URL: '/top' }),
        ],
      },
    });
    expect(two.feature).toEqual({ sdSupport: false, temperatureGraph: false });
  });

  it('describes the printer as one _default profile', () => {
    const reply = printerProfilesReply({
      heaters: ['extruder', 'extruder1', 'heater_bed', 'heater_generic chamber'],
      kinematics: 'delta',
      axisMinimum: [-100, -100, 0],
      axisMaximum: [100, 100, 300],
      model: 'Kossel',
    });
    expect((reply.profiles as Record<string, unknown>)._default).toMatchObject({
      model: 'Kossel',
      heatedBed: true,
      heatedChamber: true,
      volume: { width: 200, depth: 200, height: 300, formFactor: 'circular', origin: 'center' },
      extruder: {
        count: 2,
        offsets: [
          [0, 0],
          [0, 0],
        ],
      },
      axes: { x: { speed: 6000, inverted: false }, e: { speed: 300, inverted: false } },
    });
  });

  it('reads OctoPrint’s truthy form values', () => {
    for (const yes of ['true', 'True', ' yes', 'y', '1', true, 1])
      expect(isTruthy(yes), String(yes)).toBe(true);
    for (const no of ['false', '', '0', 'no', 'on', false, 0, undefined, null])
      expect(isTruthy(no)).toBe(false);
  });
});
