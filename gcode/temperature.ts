// Temperature reports (M105 replies, M155 autoreports, M109/M190 wait lines) from Marlin, Prusa, RRF and Klipper.

/** One sensor or heater as the firmware printed it. */
export interface TemperatureReading {
  actual: number;
  /** Absent when the firmware printed no `/target` (sensor-only readings such as Prusa's `P:` and `A:`). */
  target?: number;
  /** Raw heater PWM as printed (`@:`, `B@:`, `@1:`); its full scale depends on the build. */
  power?: number;
  /** Raw ADC value, printed in parentheses with Marlin's SHOW_TEMP_ADC_VALUES. */
  raw?: number;
}

export interface TemperatureReport {
  /** Hotends by index (`T0:`, `T1:` ...); a single-hotend report's `T:` becomes `tools[0]`. */
  tools: TemperatureReading[];
  /** The `T:` reading: the active (or addressed) tool. */
  active?: TemperatureReading;
  bed?: TemperatureReading;
  chamber?: TemperatureReading;
  /** `P:`: Marlin probe sensor, Prusa MK3 PINDA. */
  probe?: TemperatureReading;
  /** `A:`: Prusa MK3 ambient thermistor on the board, Prusa Buddy board sensor. */
  board?: TemperatureReading;
  /** `X:`: Prusa Buddy heatbreak. */
  heatbreak?: TemperatureReading;
  /** `L:`: Marlin laser cooler. */
  cooler?: TemperatureReading;
  /** `R:`: Marlin redundant hotend sensor. */
  redundant?: TemperatureReading;
  /** Any other named sensor (RRF `B1:`/`C1:`, Klipper custom gcode_id, Marlin board/SoC letters). */
  extra: Record<string, TemperatureReading>;
  /** `E:` in heat-up wait lines: the extruder being waited for. */
  activeExtruder?: number;
  /**
   * `W:` in M109/M190 wait lines: seconds of residency left; `null` for `W:?` (still approaching the
   * target). Absent outside waits.
   */
  waitRemainingS?: number | null;
}

// One `name[@][n]: value [/ target] [(raw)]` group. Whitespace-tolerant because Prusa Buddy prints
// `T:21.3/0.0` and OctoPrint's virtual printer `T:21.30/ 0.00` (notes §6).
const READING =
  /([A-Za-z][A-Za-z0-9_]*)?(@\d*)?:\s*(-?\d+(?:\.\d*)?|-?\.\d+|\?)(?:\s*\/\s*(-?\d+(?:\.\d*)?|-?\.\d+))?(?:\s*\((-?\d+(?:\.\d*)?)\))?/g;

const TOOL_NAME = /^T(\d+)$/;
const TOOL_POWER = /^@(\d+)$/;
// Repetier prints targets apart from the readings (notes §6).
const REPETIER_TOOL_TARGET = /^TargetExtr(\d+)$/;

/** Quick test: does this text start like a temperature report (`T:`, `T0:`, `B:`, `C:`)? */
export function looksLikeTemperature(text: string): boolean {
  return /^[TBC]\d*:\s*[-\d.]/.test(text);
}

/**
 * Parse every reading in a temperature report. Accepts the text with or without a leading `ok`.
 * Returns undefined when the text holds no hotend, bed or chamber reading.
 */
export function parseTemperatures(text: string): TemperatureReport | undefined {
  const body = text.startsWith('ok') ? text.slice(2) : text;
  const report: TemperatureReport = { tools: [], extra: {} };
  const numbered: TemperatureReading[] = [];
  const toolPowers: number[] = [];
  const toolTargets: number[] = [];
  let activePower: number | undefined;
  let bedTarget: number | undefined;
  let found = false;

  for (const m of body.matchAll(READING)) {
    const name = m[1] ?? '';
    const at = m[2];
    const valueText = m[3] ?? '';
    if (valueText === '?') {
      if (name === 'W' && at === undefined) report.waitRemainingS = null;
      continue;
    }
    const value = Number(valueText);

    if (at !== undefined) {
      // Heater powers: `@:` active tool, `@0:` a numbered tool, `B@:` bed, `C@:` chamber.
      if (name === '') {
        const tool = TOOL_POWER.exec(at);
        if (tool) toolPowers[Number(tool[1])] = value;
        else activePower = value;
      } else if (at === '@') {
        const reading = name === 'B' ? report.bed : name === 'C' ? report.chamber : report.extra[name];
        if (reading) reading.power = value;
      }
      continue;
    }

    const reading: TemperatureReading = { actual: value };
    if (m[4] !== undefined) reading.target = Number(m[4]);
    if (m[5] !== undefined) reading.raw = Number(m[5]);

    switch (name) {
      case 'T':
        report.active = reading;
        found = true;
        break;
      case 'B':
        report.bed = reading;
        found = true;
        break;
      case 'C':
        report.chamber = reading;
        found = true;
        break;
      case 'P':
        report.probe = reading;
        break;
      case 'A':
        report.board = reading;
        break;
      case 'X':
        report.heatbreak = reading;
        break;
      case 'L':
        report.cooler = reading;
        break;
      case 'R':
        report.redundant = reading;
        break;
      case 'E':
        report.activeExtruder = value;
        break;
      case 'W':
        report.waitRemainingS = value;
        break;
      case 'TargetBed':
        bedTarget = value;
        break;
      default: {
        const tool = TOOL_NAME.exec(name);
        if (tool) {
          numbered[Number(tool[1])] = reading;
          found = true;
          break;
        }
        const target = REPETIER_TOOL_TARGET.exec(name);
        if (target) {
          toolTargets[Number(target[1])] = value;
          break;
        }
        if (name !== '') report.extra[name] = reading;
      }
    }
  }

  if (!found) return undefined;

  // A sparse list (T1 without T0) never comes from a real firmware; keep the ones we have in order.
  report.tools =
    numbered.length > 0 ? numbered.filter((r) => r !== undefined) : report.active ? [report.active] : [];
  toolPowers.forEach((power, i) => {
    const tool = numbered[i];
    if (tool) tool.power = power;
  });
  if (activePower !== undefined) {
    if (report.active) report.active.power = activePower;
    // Prusa MK3 prints `T0:` beside `T:` on a single hotend; `@:` is then that hotend's power.
    const only = report.tools.length === 1 ? report.tools[0] : undefined;
    if (only && only.power === undefined) only.power = activePower;
  }
  toolTargets.forEach((target, i) => {
    const tool = report.tools[i];
    if (tool) tool.target = target;
  });
  if (bedTarget !== undefined && report.bed) report.bed.target = bedTarget;
  return report;
}
