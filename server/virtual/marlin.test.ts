// Behaviour of the virtual Marlin as a host sees it on the wire, driven by a manual clock.

import { afterEach, describe, expect, test } from 'vitest';
import { numberedLine } from '../../gcode/checksum.ts';
import { ManualClock } from '../core/clock.ts';
import { parseCommand, VirtualMarlin, type VirtualMarlinOptions } from './marlin.ts';

interface Rig {
  clock: ManualClock;
  printer: VirtualMarlin;
  /** Every complete line the printer sent so far. */
  lines: string[];
  send(text: string): boolean;
  /** Lines received since the last call. */
  take(): string[];
}

const open: VirtualMarlin[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

function rig(options: VirtualMarlinOptions = {}): Rig {
  const clock = new ManualClock();
  const printer = new VirtualMarlin({ clock, ...options });
  open.push(printer);
  const lines: string[] = [];
  let partial = '';
  let taken = 0;
  printer.onData((chunk) => {
    partial += chunk.toString('latin1');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  return {
    clock,
    printer,
    lines,
    send: (text) => printer.write(text),
    take() {
      const out = lines.slice(taken);
      taken = lines.length;
      return out;
    },
  };
}

/** A rig past its boot banner with line numbering reset. */
function ready(options: VirtualMarlinOptions = {}): Rig {
  const r = rig(options);
  r.send('M110 N0\n');
  r.take();
  return r;
}

const n = (num: number, cmd: string): string => `${numberedLine(num, cmd)}\n`;

/**
 * The simplest correct host: one line in flight, resend from the requested line, and the
 * `ok` that follows `Resend:` is the answer to the rejected line.
 */
class PingPongHost {
  next = 1;
  done = false;
  sawStart = false;
  private resendFrom: number | null = null;
  private partial = '';

  constructor(
    private readonly printer: VirtualMarlin,
    private readonly program: readonly string[],
  ) {
    printer.onData((chunk) => {
      this.partial += chunk.toString('latin1');
      const parts = this.partial.split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) this.onLine(line);
    });
  }

  start(): void {
    this.printer.write('M110 N0\n');
  }

  /** Recovers from a lost ok the way OctoPrint does: a harmless command whose ok we treat as the missing one. */
  tickle(): void {
    this.printer.write('M105\n');
  }

  private onLine(line: string): void {
    if (line === 'start') this.sawStart = true;
    const resend = /^Resend: ?(\d+)/.exec(line);
    if (resend) this.resendFrom = Number(resend[1]);
    else if (line.startsWith('ok')) this.onOk();
  }

  private onOk(): void {
    if (this.resendFrom !== null) {
      this.next = this.resendFrom;
      this.resendFrom = null;
    }
    if (this.next > this.program.length) {
      this.done = true;
      return;
    }
    const num = this.next++;
    this.printer.write(n(num, this.program[num - 1] as string));
  }
}

/** A 1,000-line job: short moves, extrusion, the odd query. */
function job(lines = 1000): string[] {
  const out = ['M302 S0', 'G28', 'M83'];
  for (let i = out.length; i < lines; i++) {
    if (i % 97 === 0) out.push('M105');
    else if (i % 131 === 0) out.push('M114');
    else out.push(`G1 X${(i % 200) + 10} Y${((i * 7) % 200) + 10} E0.05 F6000`);
  }
  return out;
}

const runNumbers = (p: VirtualMarlin): number[] =>
  p.executed.filter((e) => e.lineNumber !== null).map((e) => e.lineNumber as number);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

// -------------------------------------------------------------------------------------------

describe('boot and reset', () => {
  test('prints start and the Marlin banner when it powers up', () => {
    const r = rig();
    const lines = r.take();
    expect(lines[0]).toBe('start');
    expect(lines).toContain('echo:Marlin 2.1.2.1');
  });

  test('a reset prints the banner again and forgets the line number', () => {
    const r = ready();
    r.send(n(1, 'G28'));
    r.clock.advance(20_000);
    expect(r.printer.state().lastLineNumber).toBe(1);
    r.take();
    r.printer.reset();
    expect(r.take()[0]).toBe('start');
    expect(r.printer.state().lastLineNumber).toBe(0);
    expect(r.printer.state().homed.x).toBe(false);
  });

  test('loses bytes sent while the bootloader runs', () => {
    const r = rig({ bootMs: 1500 });
    r.send('M115\n');
    expect(r.take()).toEqual([]);
    r.clock.advance(1500);
    expect(r.take()[0]).toBe('start');
    expect(r.printer.executed).toHaveLength(0);
    expect(r.printer.stats.ignoredBytes).toBe(5);
  });

  test('keeps the hotend hot across a reset but turns the heater off', () => {
    const r = ready();
    r.send('M104 S200\n');
    r.clock.advance(90_000);
    r.printer.reset();
    const { hotends } = r.printer.state();
    expect(hotends[0]?.temperature).toBeGreaterThan(190);
    expect(hotends[0]?.target).toBe(0);
  });
});

describe('line numbers and checksums', () => {
  test('acknowledges numbered lines with ADVANCED_OK fields', () => {
    const r = ready();
    r.send(n(1, 'G28'));
    r.clock.advance(20_000);
    r.send(n(2, 'G1 X10 F600'));
    expect(r.take()).toContain('ok N2 P14 B3');
  });

  test('sends a plain ok when ADVANCED_OK is off', () => {
    const r = ready({ advancedOk: false });
    r.send(n(1, 'M400'));
    expect(r.take()).toEqual(['ok']);
  });

  test('answers a checksum mismatch with the error, a resend request and an ok', () => {
    const r = ready();
    r.send(n(1, 'G90'));
    r.send('N2 G91*0\n');
    expect(r.take()).toEqual(['ok N1 P15 B3', 'Error:checksum mismatch, Last Line: 1', 'Resend: 2', 'ok']);
    expect(r.printer.stats.checksumErrors).toBe(1);
  });

  test('rejects a line that skips a number', () => {
    const r = ready();
    r.send(n(2, 'G90'));
    expect(r.take()).toEqual([
      'Error:Line Number is not Last Line Number+1, Last Line: 0',
      'Resend: 1',
      'ok',
    ]);
  });

  test('rejects a numbered line without a checksum', () => {
    const r = ready();
    r.send('N1 G90\n');
    expect(r.take()).toEqual(['Error:No Checksum with line number, Last Line: 0', 'Resend: 1', 'ok']);
  });

  test('runs un-numbered lines without any checksum', () => {
    const r = ready();
    r.send('G90\nM83\n');
    expect(r.take()).toEqual(['ok P15 B3', 'ok P15 B3']);
    expect(r.printer.executed.map((e) => e.command)).toEqual(['M110 N0', 'G90', 'M83']);
  });

  test('M110 sets the next expected line number, even on a numbered line', () => {
    const r = ready();
    r.send(n(99, 'M110 N10'));
    r.send(n(11, 'G90'));
    expect(r.take()).toEqual(['ok N99 P15 B3', 'ok N11 P15 B3']);
  });

  test('every line already on the wire after an error earns another resend of the same line', () => {
    const r = ready();
    r.send(`N1 G90*0\n${numberedLine(2, 'G90')}\n${numberedLine(3, 'G90')}\n`);
    const lines = r.take();
    expect(lines.filter((l) => l === 'Resend: 1')).toHaveLength(3);
    expect(lines.filter((l) => l === 'ok')).toHaveLength(3);
    expect(lines[3]).toBe('Error:Line Number is not Last Line Number+1, Last Line: 0');
  });

  test('ignores comments and blank lines', () => {
    const r = ready();
    r.send('; just a comment\n\n\r\nG90 ; absolute\n');
    expect(r.take()).toEqual(['ok P15 B3']);
    expect(r.printer.executed.at(-1)?.command).toBe('G90');
  });

  test('cuts lines longer than MAX_CMD_SIZE', () => {
    const r = ready();
    r.send(`M117 ${'x'.repeat(200)}\n`);
    const note = r.take().find((l) => l.startsWith('//action:notification '));
    expect(note).toBe(`//action:notification ${'x'.repeat(95 - 'M117 '.length)}`);
  });
});

describe('buffers and flow', () => {
  test('acknowledges moves only as planner blocks free up', () => {
    const r = ready();
    let batch = '';
    for (let i = 1; i <= 20; i++) batch += n(i, `G1 X${i * 10} F600`);
    r.send(batch);
    // 15 blocks fit in a 16-slot planner; line 16 then waits inside its handler.
    expect(r.take().filter((l) => l.startsWith('ok'))).toHaveLength(15);
    r.clock.advance(1000);
    expect(r.take()).toEqual(['ok N16 P0 B0']);
    expect(r.printer.state().queuedCommands).toBe(4);
  });

  test('drops bytes past the 128-byte receive buffer', () => {
    const r = ready();
    r.send('G4 S10\nG4 S10\nG4 S10\nG4 S10\n');
    let burst = '';
    for (let i = 1; i <= 20; i++) burst += n(i, `G1 X${i}`);
    r.send(burst);
    // The AVR ring holds 127 bytes; the queue is full, so nothing drains it.
    expect(r.printer.state().rxBytes).toBe(127);
    expect(r.printer.stats.droppedBytes).toBe(burst.length - 127);
    r.clock.advance(60_000);
    // The complete lines that fit ran; the cut one waits for its missing newline, silently.
    const ran = runNumbers(r.printer);
    expect(ran).toEqual(range(1, ran.length));
    r.take();
    r.send(n(21, 'G1 X21'));
    expect(r.take()).toEqual([
      `Error:checksum mismatch, Last Line: ${ran.length}`,
      `Resend: ${ran.length + 1}`,
      'ok',
    ]);
  });

  test('a native-USB board holds bytes back instead of dropping them', () => {
    const r = ready({ rxOverflow: 'block' });
    let drained = 0;
    r.printer.on('drain', () => {
      drained++;
    });
    r.send('G4 S1\nG4 S1\nG4 S1\nG4 S1\n');
    let burst = '';
    for (let i = 1; i <= 20; i++) burst += n(i, `G1 X${i}`);
    expect(r.send(burst)).toBe(false);
    r.clock.advance(10_000);
    expect(r.printer.stats.droppedBytes).toBe(0);
    expect(runNumbers(r.printer)).toEqual(range(1, 20));
    expect(drained).toBe(1);
  });
});

describe('busy and waits', () => {
  test('sends busy: processing every 2 s while a long command runs', () => {
    const r = ready();
    r.send('G4 S5\n');
    r.clock.advance(5000);
    expect(r.take()).toEqual(['echo:busy: processing', 'echo:busy: processing', 'ok P15 B3']);
  });

  test('M113 changes the keepalive interval', () => {
    const r = ready();
    r.send('M113 S1\nG4 S3\n');
    r.clock.advance(3000);
    expect(r.take().filter((l) => l === 'echo:busy: processing')).toHaveLength(2);
  });

  test('M400 waits for the planner to empty before its ok', () => {
    const r = ready();
    r.send('G1 X100 F600\nM400\n');
    expect(r.take()).toEqual(['ok P14 B3']);
    r.clock.advance(9900);
    expect(r.take()).toEqual([
      'echo:busy: processing',
      'echo:busy: processing',
      'echo:busy: processing',
      'echo:busy: processing',
    ]);
    r.clock.advance(200);
    expect(r.take()).toEqual(['ok P15 B3']);
  });

  test('G28 homes, reports the position and takes time', () => {
    const r = ready();
    r.send('G28\n');
    expect(r.take()).toEqual([]);
    r.clock.advance(20_000);
    const lines = r.take();
    // From an unknown position homing takes seconds, so the host hears busy lines meanwhile.
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.slice(0, -2).every((l) => l === 'echo:busy: processing')).toBe(true);
    expect(lines.slice(-2)).toEqual(['X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0', 'ok P15 B3']);
    expect(r.printer.state().homed).toEqual({ x: true, y: true, z: true });
  });
});

describe('temperatures', () => {
  test('answers M105 with tool and bed temperatures', () => {
    const r = ready();
    r.send('M105\n');
    expect(r.take()).toEqual(['ok T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0']);
  });

  test('the ok of a numbered M105 carries no ADVANCED_OK fields', () => {
    const r = ready();
    r.send(n(1, 'M105'));
    expect(r.take()).toEqual(['ok T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0']);
  });

  test('reports every hotend when there are two', () => {
    const r = ready({ hotends: 2 });
    r.send('M104 T1 S200\nM105\n');
    expect(r.take().at(-1)).toBe(
      'ok T:22.00 /0.00 B:22.00 /0.00 T0:22.00 /0.00 T1:22.00 /200.00 @:0 B@:0 @0:0 @1:0',
    );
  });

  test('M104 heats the hotend towards its target with full power first', () => {
    const r = ready();
    r.send('M104 S200\n');
    r.clock.advance(5000);
    r.send('M105\n');
    const reply = r.take().at(-1) ?? '';
    expect(reply).toMatch(/^ok T:\d+\.\d\d \/200\.00 B:22\.00 \/0\.00 @:127 B@:0$/);
    r.clock.advance(120_000);
    expect(r.printer.state().hotends[0]?.temperature).toBeCloseTo(200, 1);
  });

  test('M109 waits with W: status lines and no ok until the temperature settled', () => {
    const r = ready();
    r.send(n(1, 'M109 S200'));
    r.clock.advance(1000);
    const first = r.take();
    expect(first.length).toBeGreaterThan(0);
    for (const l of first) expect(l).toMatch(/^ T:\d+\.\d\d \/200\.00 B:22\.00 \/0\.00 @:\d+ B@:0 W:\?$/);
    const finished = r.clock.advanceUntil(() => r.lines.some((l) => l.startsWith('ok N1')), 300_000, 100);
    expect(finished).toBe(true);
    const wait = r.take();
    expect(wait.some((l) => / W:[0-9]$/.test(l))).toBe(true);
    expect(wait.some((l) => l.includes('busy'))).toBe(false);
  });

  test('M109 sends busy lines instead when BUSY_WHILE_HEATING is on', () => {
    const r = ready({ busyWhileHeating: true });
    r.send('M109 S200\n');
    r.clock.advance(5000);
    expect(r.take()).toContain('echo:busy: processing');
  });

  test('M108 breaks out of an M109 wait even though the queue is busy', () => {
    const r = ready();
    r.send('M109 S200\n');
    r.clock.advance(3000);
    r.take();
    r.send('M108\n');
    // The emergency parser ends the wait; the M108 line then runs from the queue and gets its own ok.
    expect(r.take().filter((l) => l.startsWith('ok'))).toHaveLength(2);
  });

  test('M190 waits for the bed, and M109 S lower than current does not wait for cooling', () => {
    const r = ready({ bedResidencyS: 1 });
    r.send('M190 S50\n');
    expect(r.clock.advanceUntil(() => r.lines.at(-1)?.startsWith('ok') === true, 600_000, 200)).toBe(true);
    expect(r.printer.state().bed.temperature).toBeGreaterThan(49);
    r.send('M140 S0\nM190 S30\n');
    expect(r.take().at(-1)).toMatch(/^ok/);
  });

  test('M155 reports temperatures on its own every S seconds until S0', () => {
    const r = ready();
    r.send('M155 S2\n');
    r.take();
    r.clock.advance(6050);
    const reports = r.take();
    expect(reports).toEqual([
      ' T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0',
      ' T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0',
      ' T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0',
    ]);
    r.send('M155 S0\n');
    r.take();
    r.clock.advance(10_000);
    expect(r.take()).toEqual([]);
  });

  test('refuses to extrude with a cold hotend', () => {
    const r = ready();
    r.send('G1 E5 F300\n');
    expect(r.take()).toEqual(['echo: cold extrusion prevented', 'ok P15 B3']);
    r.send('M302\n');
    expect(r.take()[0]).toBe('echo:Cold extrudes are disabled (min temp 170C)');
  });
});

describe('identity and position', () => {
  test('M115 names the firmware and lists its capabilities', () => {
    const r = ready();
    r.send('M115\n');
    const lines = r.take();
    expect(lines[0]).toMatch(
      /^FIRMWARE_NAME:Marlin 2\.1\.2\.1 \(.+\) SOURCE_CODE_URL:\S+ PROTOCOL_VERSION:1\.0 MACHINE_TYPE:Brim Virtual Printer EXTRUDER_COUNT:1$/,
    );
    for (const cap of [
      'AUTOREPORT_TEMP',
      'AUTOREPORT_POS',
      'EMERGENCY_PARSER',
      'HOST_ACTION_COMMANDS',
      'PROMPT_SUPPORT',
    ]) {
      expect(lines).toContain(`Cap:${cap}:1`);
    }
    expect(lines).toContain('Cap:SDCARD:0');
    expect(lines.at(-1)).toBe('ok P15 B3');
  });

  test('tracks position through G90, G91, G92, M82 and M83', () => {
    const r = ready();
    const m114 = (): string => {
      r.send('M114\n');
      return r.take().at(-2) ?? '';
    };
    r.send('G28\n');
    r.clock.advance(20_000);
    r.send('M302 S0\nG1 X10 Y20 Z5 F3000\n');
    expect(m114()).toBe('X:10.00 Y:20.00 Z:5.00 E:0.00 Count X:800 Y:1600 Z:2000');
    r.send('G91\nG1 X5 E1\n');
    expect(m114()).toBe('X:15.00 Y:20.00 Z:5.00 E:1.00 Count X:1200 Y:1600 Z:2000');
    r.send('G90\nG92 X0 E0\n');
    expect(m114()).toBe('X:0.00 Y:20.00 Z:5.00 E:0.00 Count X:1200 Y:1600 Z:2000');
    r.send('M83\nG1 E2\nG1 E2\n');
    expect(m114()).toMatch(/ E:4\.00 /);
    r.send('M82\nG1 E1\n');
    expect(m114()).toMatch(/ E:1\.00 /);
    // Soft endstops hold a homed axis at its native 0, which G92 made logical -15.
    r.send('G1 X-50\n');
    expect(m114()).toBe('X:-15.00 Y:20.00 Z:5.00 E:1.00 Count X:0 Y:1600 Z:2000');
  });

  test('M154 reports the position on its own every S seconds', () => {
    const r = ready();
    r.send('M154 S1\n');
    r.take();
    r.clock.advance(2050);
    expect(r.take()).toEqual([
      'X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0',
      'X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0',
    ]);
  });

  test('arcs are split into planner blocks and end at the target', () => {
    const r = ready();
    r.send('G1 X50 Y50 F6000\nG2 X70 Y50 I10 J0\nM114\n');
    // A half circle of radius 10 is 31 one-millimetre segments: more than the planner holds.
    expect(r.take()).toEqual(['ok P14 B3']);
    expect(r.printer.state().plannedMoves).toBe(15);
    r.clock.advance(5000);
    expect(r.take()).toEqual([
      'ok P0 B2',
      'X:70.00 Y:50.00 Z:0.00 E:0.00 Count X:5600 Y:4000 Z:0',
      'ok P0 B3',
    ]);
  });

  test('M119 shows the endstops a homed axis rests on', () => {
    const r = ready();
    r.send('G28 X\n');
    r.clock.advance(5000);
    r.take();
    r.send('M119\n');
    expect(r.take()).toEqual([
      'Reporting endstop status',
      'x_min: TRIGGERED',
      'y_min: open',
      'z_min: open',
      'ok P15 B3',
    ]);
  });
});

describe('other commands', () => {
  test('answers an unknown command with an echo and then ok', () => {
    const r = ready();
    r.send('X123\nM9999 S1\n');
    expect(r.take()).toEqual([
      'echo:Unknown command: "X123"',
      'ok P15 B3',
      'echo:Unknown command: "M9999 S1"',
      'ok P15 B3',
    ]);
  });

  test('keeps fan speed, feedrate and flow percentages', () => {
    const r = ready();
    r.send('M106 S128\nM220 S150\nM221 S90\nM220\nM221\n');
    expect(r.take()).toEqual([
      'ok P15 B3',
      'ok P15 B3',
      'ok P15 B3',
      'FR:150%',
      'ok P15 B3',
      'echo:E0 Flow: 90%',
      'ok P15 B3',
    ]);
    expect(r.printer.state().fans).toEqual([128]);
    r.send('M107\n');
    expect(r.printer.state().fans).toEqual([0]);
  });

  test('M117 becomes a host notification and M118 echoes', () => {
    const r = ready();
    r.send('M117 Layer 3\nM118 E1 hello\nM118 A1 action:custom\n');
    expect(r.take()).toEqual([
      '//action:notification Layer 3',
      'ok P15 B3',
      'echo:hello',
      'ok P15 B3',
      '//action:custom',
      'ok P15 B3',
    ]);
    expect(r.printer.state().statusMessage).toBe('Layer 3');
  });

  test('M0 raises a prompt and M876 answers it', () => {
    const r = ready();
    r.send('M0 Change the filament\n');
    expect(r.take()).toEqual([
      '//action:prompt_end',
      '//action:prompt_begin Change the filament',
      '//action:prompt_button Continue',
      '//action:prompt_show',
    ]);
    r.clock.advance(2100);
    expect(r.take()).toEqual(['echo:busy: paused for user']);
    // The emergency parser answers at once; the M876 line is already queued behind M0 (B2).
    r.send('M876 S0\n');
    expect(r.take()).toEqual(['//action:prompt_end', 'ok P15 B2', 'ok P15 B3']);
  });

  test('M410 throws away the planned moves and stops where the head is', () => {
    const r = ready();
    r.send('G1 X100 F600\nG1 X0\n');
    r.clock.advance(2000);
    r.send('M410\n');
    expect(r.printer.state().plannedMoves).toBe(0);
    r.send('M114\n');
    expect(r.take().at(-2)).toBe('X:20.00 Y:0.00 Z:0.00 E:0.00 Count X:1600 Y:0 Z:0');
  });

  test('M112 halts even while the queue is full', () => {
    const r = ready();
    r.send('G4 S100\nG4 S100\nG4 S100\nG4 S100\n');
    let filler = '';
    for (let i = 1; i <= 10; i++) filler += n(i, 'G1 X1');
    r.send(filler);
    r.take();
    r.send('M112\n');
    expect(r.take()).toEqual([
      'echo:M112 Shutdown',
      'Error:Printer halted. kill() called!',
      '//action:poweroff',
    ]);
    expect(r.printer.state().killed).toBe(true);
    r.send('M105\n');
    r.clock.advance(10_000);
    expect(r.take()).toEqual([]);
    r.printer.reset();
    expect(r.take()[0]).toBe('start');
  });

  test('M112 from a numbered line is caught by the emergency parser too', () => {
    const r = ready();
    r.send('G4 S100\nG4 S100\nG4 S100\nG4 S100\n');
    r.send(n(1, 'M112'));
    expect(r.printer.state().killed).toBe(true);
  });

  test('without the emergency parser a bare M112 waits for a free queue slot', () => {
    const r = ready({ emergencyParser: false });
    r.send('G4 S10\nG4 S10\nG4 S10\nG4 S10\nM112\n');
    expect(r.printer.state().killed).toBe(false);
    r.clock.advance(10_000);
    expect(r.printer.state().killed).toBe(true);
  });

  test('M524 is accepted and does nothing without media', () => {
    const r = ready();
    r.send('M524\n');
    expect(r.take()).toEqual(['ok P15 B3']);
  });
});

describe('execution log and scripted faults', () => {
  test('asks for a resend of line 120 and runs it once', () => {
    const r = rig({ faults: [{ kind: 'resend', atLine: 120 }] });
    const host = new PingPongHost(r.printer, job(200));
    host.start();
    expect(r.clock.advanceUntil(() => host.done, 3_600_000, 50)).toBe(true);
    expect(r.lines).toContain('Error:Line Number is not Last Line Number+1, Last Line: 119');
    expect(r.lines).toContain('Resend: 120');
    expect(runNumbers(r.printer)).toEqual(range(1, 200));
  });

  test('streams 1,000 lines through a resend, a checksum error and 3 s of busy, each line exactly once', () => {
    const r = rig({
      faults: [
        { kind: 'resend', atLine: 120 },
        { kind: 'checksum', atLine: 300 },
        { kind: 'busy', atLine: 500, seconds: 3 },
      ],
    });
    const host = new PingPongHost(r.printer, job(1000));
    host.start();
    expect(r.clock.advanceUntil(() => host.done, 3_600_000, 50)).toBe(true);
    expect(runNumbers(r.printer)).toEqual(range(1, 1000));
    expect(r.lines).toContain('Error:checksum mismatch, Last Line: 299');
    expect(r.lines).toContain('Resend: 300');
    const at500 = r.lines.findIndex((l) => l.startsWith('ok N500 '));
    expect(r.lines.slice(at500 - 1, at500)).toEqual(['echo:busy: processing']);
    expect(r.printer.faultsFired.map((f) => f.kind)).toEqual(['resend', 'checksum', 'busy']);
  });

  test('a lost ok leaves the host waiting until it asks again', () => {
    const r = rig({ faults: [{ kind: 'drop_ok', atLine: 50 }] });
    const host = new PingPongHost(r.printer, job(100));
    host.start();
    r.clock.advance(30_000);
    expect(host.done).toBe(false);
    expect(host.next).toBe(51);
    expect(r.lines.some((l) => l.startsWith('ok N50 '))).toBe(false);
    host.tickle();
    expect(r.clock.advanceUntil(() => host.done, 3_600_000, 50)).toBe(true);
    expect(runNumbers(r.printer)).toEqual(range(1, 100));
  });

  test('a spontaneous reset mid-print prints the banner and loses the line', () => {
    const r = rig({ faults: [{ kind: 'reset', atLine: 80 }] });
    const host = new PingPongHost(r.printer, job(100));
    host.start();
    r.clock.advance(60_000);
    expect(host.sawStart).toBe(true);
    expect(runNumbers(r.printer).at(-1)).toBe(79);
    expect(r.printer.state().lastLineNumber).toBe(0);
    expect(r.printer.stats.resets).toBe(1);
  });

  test('a lost line makes the next one fail the line-number check', () => {
    const r = ready({ faults: [{ kind: 'lose_line', atLine: 2 }] });
    r.send(n(1, 'G90') + n(2, 'G90') + n(3, 'G90'));
    expect(r.take()).toEqual([
      'ok N1 P15 B3',
      'Error:Line Number is not Last Line Number+1, Last Line: 1',
      'Resend: 2',
      'ok',
    ]);
  });

  test('a flipped bit in the N turns a numbered line into an unknown command with an extra ok', () => {
    const r = ready({ faults: [{ kind: 'bitflip', atLine: 2, offset: 0, bit: 1 }] });
    r.send(n(1, 'G90') + n(2, 'G90'));
    const lines = r.take();
    expect(lines[1]).toMatch(/^echo:Unknown command: "L2 G90"$/);
    expect(lines[2]).toBe('ok P15 B3');
    expect(r.printer.state().lastLineNumber).toBe(1);
  });

  test('noise flips bits on the wire, seeded so it repeats', () => {
    const run = (): string[] => {
      const r = rig({ faults: [{ kind: 'noise', probability: 1, maxFlips: 1, fromLine: 3, seed: 7 }] });
      const host = new PingPongHost(r.printer, job(20));
      host.start();
      r.clock.advanceUntil(() => host.done, 600_000, 50);
      expect(host.done).toBe(true);
      expect(r.printer.stats.bitsFlipped).toBe(1);
      expect(runNumbers(r.printer)).toEqual(range(1, 20));
      return r.lines;
    };
    expect(run()).toEqual(run());
  });

  test('drop_bytes loses bytes on the wire, seeded so it repeats, and the line protocol catches it', () => {
    const run = (): string[] => {
      const r = rig({ faults: [{ kind: 'drop_bytes', probability: 1, maxDrops: 1, fromLine: 3, seed: 7 }] });
      const host = new PingPongHost(r.printer, job(20));
      host.start();
      r.clock.advanceUntil(() => host.done, 600_000, 50);
      expect(host.done).toBe(true);
      expect(r.printer.stats.bytesLostOnWire).toBe(1);
      expect(r.printer.stats.resendRequests).toBeGreaterThan(0);
      expect(runNumbers(r.printer)).toEqual(range(1, 20));
      return r.lines;
    };
    expect(run()).toEqual(run());
  });

  test('moveTimeScale 0 makes moves instant: the planner never holds an ok back', () => {
    const r = ready({ moveTimeScale: 0 });
    let batch = '';
    for (let i = 1; i <= 20; i++) batch += n(i, `G1 X${i * 10} F600`);
    r.send(batch);
    expect(r.take().filter((l) => l.startsWith('ok'))).toHaveLength(20);
  });

  test('a hang silences the board until it is reset', () => {
    const r = ready({ faults: [{ kind: 'hang', atLine: 2 }] });
    r.send(n(1, 'G90') + n(2, 'G90'));
    r.clock.advance(10_000);
    r.send('M105\n');
    expect(r.take()).toEqual(['ok N1 P15 B3']);
    expect(r.printer.state().hung).toBe(true);
    r.printer.reset();
    expect(r.take()[0]).toBe('start');
  });

  test('an unplug goes silent and a replug boots with a fresh banner', () => {
    const r = ready({ faults: [{ kind: 'unplug', atLine: 2, replugAfterS: 2 }] });
    const events: string[] = [];
    r.printer.on('unplug', (e) => events.push(`unplug ${e.replugAfterMs}`));
    r.printer.on('replug', () => events.push('replug'));
    r.send(n(1, 'G90') + n(2, 'G90'));
    expect(events).toEqual(['unplug 2000']);
    r.send('M105\n');
    expect(r.take()).toEqual(['ok N1 P15 B3']);
    r.clock.advance(2000);
    expect(events).toEqual(['unplug 2000', 'replug']);
    expect(r.take()[0]).toBe('start');
  });

  test('records un-numbered lines in the log too, with a null line number', () => {
    const r = ready();
    r.send(`${n(1, 'G90')}M105\n`);
    expect(r.printer.executed.map((e) => [e.lineNumber, e.command])).toEqual([
      [null, 'M110 N0'],
      [1, 'G90'],
      [null, 'M105'],
    ]);
  });
});

describe('parseCommand', () => {
  test('skips the line number and checksum and reads words', () => {
    const p = parseCommand('N12 G1 X10.5 Y-3 E.2 F1200*55');
    expect(p.letter).toBe('G');
    expect(p.code).toBe(1);
    expect(p.text).toBe('G1 X10.5 Y-3 E.2 F1200');
    expect([...p.params]).toEqual([
      ['X', 10.5],
      ['Y', -3],
      ['E', 0.2],
      ['F', 1200],
    ]);
  });

  test('reads words without spaces between them and keeps M117 text whole', () => {
    expect([...parseCommand('G1X1Y2').params]).toEqual([
      ['X', 1],
      ['Y', 2],
    ]);
    expect(parseCommand('M117 Hello X1').stringArg).toBe('Hello X1');
  });

  test('anything that is not G, M or T with a number is unknown', () => {
    expect(parseCommand('X123').letter).toBe('?');
    expect(parseCommand('G').letter).toBe('?');
    expect(parseCommand('g28').letter).toBe('?');
  });
});
