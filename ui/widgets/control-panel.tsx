// Toolhead control: jog with step sizes, home, motors off, extrude/retract, fan, speed and flow factors,
// Z offset during a print, and the printer's macros as buttons.
import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { connected, rpc } from '../api/session.ts';
import { canOperate } from '../state/auth.ts';
import { jobActive } from '../state/job.ts';
import {
  fan,
  gcodeMove,
  type HeaterStatus,
  macroDescription,
  macros,
  printerObject,
  toolhead,
} from '../state/printer.ts';
import { XY_SPEED, XY_STEPS, xyStep, Z_SPEED, Z_STEPS, zStep } from '../state/settings.ts';
import { perform } from '../state/toasts.ts';
import { ActionButton, Panel } from './common.tsx';
import type { IconName } from './icon.tsx';

const gcode = (script: string) => rpc.call('printer.gcode.script', { script });

/** Mainsail's jog: relative for one move, then the previous modes and feed rate come back. */
export function jogScript(axis: 'X' | 'Y' | 'Z', distance: number): string {
  const speed = axis === 'Z' ? Z_SPEED : XY_SPEED;
  return [
    'SAVE_GCODE_STATE NAME=_ui_movement',
    'G91',
    `G1 ${axis}${Number(distance.toFixed(3))} F${speed * 60}`,
    'RESTORE_GCODE_STATE NAME=_ui_movement',
  ].join('\n');
}

export function extrudeScript(lengthMm: number, speedMmS: number): string {
  return [
    'SAVE_GCODE_STATE NAME=_ui_extrude',
    'M83',
    `G1 E${Number(lengthMm.toFixed(2))} F${Math.round(speedMmS * 60)}`,
    'RESTORE_GCODE_STATE NAME=_ui_extrude',
  ].join('\n');
}

function JogButton({
  axis,
  sign,
  icon,
  label,
  children,
}: {
  axis: 'X' | 'Y' | 'Z';
  sign: 1 | -1;
  icon?: IconName;
  label: string;
  children?: ComponentChildren;
}) {
  const homed = toolhead.value?.homed_axes ?? '';
  const step = axis === 'Z' ? zStep.value : xyStep.value;
  return (
    <ActionButton
      class={`jog jog-${axis.toLowerCase()}${sign > 0 ? 'p' : 'm'} ${homed.includes(axis.toLowerCase()) ? '' : 'unhomed'}`}
      icon={icon}
      aria-label={`${label} ${step} mm`}
      title={
        homed.includes(axis.toLowerCase()) ? `${label} ${step} mm` : `${label} ${step} mm (axis not homed)`
      }
      action={() => gcode(jogScript(axis, sign * step))}
    >
      {children}
    </ActionButton>
  );
}

function StepPicker({
  label,
  steps,
  value,
  onPick,
}: {
  label: string;
  steps: readonly number[];
  value: number;
  onPick: (v: number) => void;
}) {
  return (
    <fieldset class="steps">
      <legend>{label}</legend>
      {steps.map((s) => (
        <label key={s} class={`chip ${s === value ? 'on' : ''}`}>
          <input type="radio" name={label} checked={s === value} onChange={() => onPick(s)} />
          {s}
        </label>
      ))}
    </fieldset>
  );
}

/** Only read here, so the session subscribes to it only while the control panel is on screen. */
const motionReport = printerObject<{ live_position?: number[] }>('motion_report');

function Position() {
  const position = gcodeMove.value?.gcode_position ?? toolhead.value?.position ?? [];
  const homed = toolhead.value?.homed_axes ?? '';
  const live = motionReport.value?.live_position ?? [];
  return (
    <dl class="position" aria-label="Toolhead position">
      {['X', 'Y', 'Z'].map((axis, i) => (
        <div key={axis} class={homed.includes(axis.toLowerCase()) ? 'homed' : 'unhomed'}>
          <dt>{axis}</dt>
          <dd
            title={
              typeof live[i] === 'number' ? `Reported by the printer: ${live[i]!.toFixed(2)}` : undefined
            }
          >
            {typeof position[i] === 'number' ? position[i]!.toFixed(2) : '–'}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function JogPad() {
  return (
    <div class="jog-area">
      <fieldset class="jog-pad bare" aria-label="Jog X and Y">
        <JogButton axis="Y" sign={1} icon="up" label="Y+" />
        <JogButton axis="X" sign={-1} icon="left" label="X−" />
        <ActionButton
          class="jog jog-home"
          icon="home"
          aria-label="Home all axes"
          action={() => gcode('G28')}
          done="Homed"
        >
          All
        </ActionButton>
        <JogButton axis="X" sign={1} icon="right" label="X+" />
        <JogButton axis="Y" sign={-1} icon="down" label="Y−" />
      </fieldset>
      <fieldset class="jog-z bare" aria-label="Jog Z">
        <JogButton axis="Z" sign={1} icon="up" label="Z+" />
        <span class="jog-z-label">Z</span>
        <JogButton axis="Z" sign={-1} icon="down" label="Z−" />
      </fieldset>
      <div class="jog-side">
        <Position />
        <fieldset class="home-row bare" aria-label="Home">
          {(['X', 'Y', 'Z'] as const).map((axis) => (
            <ActionButton
              key={axis}
              class="small"
              action={() => gcode(`G28 ${axis}`)}
              aria-label={`Home ${axis}`}
            >
              {axis}
            </ActionButton>
          ))}
          <ActionButton
            class="small"
            icon="power"
            action={() => gcode('M84')}
            done="Motors off"
            disabled={jobActive.value}
            title="Motors off (M84)"
          >
            Off
          </ActionButton>
        </fieldset>
        <StepPicker label="XY mm" steps={XY_STEPS} value={xyStep.value} onPick={(v) => (xyStep.value = v)} />
        <StepPicker label="Z mm" steps={Z_STEPS} value={zStep.value} onPick={(v) => (zStep.value = v)} />
      </div>
    </div>
  );
}

function Extruder() {
  const length = useSignal(10);
  const speed = useSignal(5);
  const status = printerObject<HeaterStatus>(
    (toolhead.value?.extruder as string | undefined) ?? 'extruder',
  ).value;
  const cold = status?.can_extrude === false;
  return (
    <div class="extruder-row">
      <label class="field compact">
        <span>Length mm</span>
        <input
          type="number"
          min={0.1}
          max={500}
          step={0.1}
          value={length.value}
          onInput={(e) => (length.value = Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <label class="field compact">
        <span>Speed mm/s</span>
        <input
          type="number"
          min={0.1}
          max={100}
          step={0.1}
          value={speed.value}
          onInput={(e) => (speed.value = Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <ActionButton
        class="small"
        action={() => gcode(extrudeScript(-Math.abs(length.value), speed.value))}
        disabled={cold || !(length.value > 0)}
        title={cold ? 'The hotend is below the minimum extrusion temperature' : 'Retract'}
      >
        Retract
      </ActionButton>
      <ActionButton
        class="small"
        variant="primary"
        action={() => gcode(extrudeScript(Math.abs(length.value), speed.value))}
        disabled={cold || !(length.value > 0)}
        title={cold ? 'The hotend is below the minimum extrusion temperature' : 'Extrude'}
      >
        Extrude
      </ActionButton>
      {cold ? <span class="muted hint">Heat the hotend to extrude</span> : null}
    </div>
  );
}

/** A 0..max slider that sends on release (not on every pixel), showing the printer's value otherwise. */
function Slider({
  label,
  value,
  max,
  unit,
  send,
}: {
  label: string;
  value: number;
  max: number;
  unit: string;
  send: (v: number) => Promise<unknown>;
}) {
  const draft = useSignal<number | null>(null);
  const shown = draft.value ?? value;
  const id = `slider-${label.replace(/\W/g, '-').toLowerCase()}`;
  const commit = async (v: number) => {
    await perform(() => send(v), `${label} ${v}${unit}`);
    draft.value = null;
  };
  return (
    <div class="slider">
      <label for={id}>{label}</label>
      <input
        id={id}
        type="range"
        min={0}
        max={max}
        step={1}
        value={shown}
        disabled={!connected.value}
        onInput={(e) => (draft.value = Number((e.target as HTMLInputElement).value))}
        onChange={(e) => void commit(Number((e.target as HTMLInputElement).value))}
      />
      <output for={id}>
        {Math.round(shown)}
        {unit}
      </output>
    </div>
  );
}

function Factors() {
  const move = gcodeMove.value;
  return (
    <div class="factors">
      <Slider
        label="Fan"
        value={Math.round((fan.value?.speed ?? 0) * 100)}
        max={100}
        unit="%"
        send={(v) => gcode(v === 0 ? 'M107' : `M106 S${Math.round((v / 100) * 255)}`)}
      />
      <Slider
        label="Speed"
        value={Math.round((move?.speed_factor ?? 1) * 100)}
        max={200}
        unit="%"
        send={(v) => gcode(`M220 S${v}`)}
      />
      <Slider
        label="Flow"
        value={Math.round((move?.extrude_factor ?? 1) * 100)}
        max={200}
        unit="%"
        send={(v) => gcode(`M221 S${v}`)}
      />
    </div>
  );
}

function ZOffset() {
  const offset = gcodeMove.value?.homing_origin?.[2] ?? 0;
  return (
    <fieldset class="zoffset bare" aria-label="Z offset">
      <span>
        Z offset <strong>{offset.toFixed(3)}</strong> mm
      </span>
      {[-0.05, -0.01, 0.01, 0.05].map((d) => (
        <ActionButton
          key={d}
          class="small"
          action={() => gcode(`SET_GCODE_OFFSET Z_ADJUST=${d} MOVE=1`)}
          aria-label={`Z offset ${d > 0 ? '+' : ''}${d} mm`}
        >
          {d > 0 ? '+' : ''}
          {d}
        </ActionButton>
      ))}
    </fieldset>
  );
}

export function ControlPanel() {
  // Viewers see where the toolhead is, and nothing to move it with.
  if (!canOperate.value) {
    return (
      <Panel title="Position" icon="home" id="control">
        <Position />
      </Panel>
    );
  }
  return (
    <Panel title="Control" icon="home" id="control">
      <JogPad />
      <h3>Extruder</h3>
      <Extruder />
      <h3>Fan and factors</h3>
      <Factors />
      <ZOffset />
    </Panel>
  );
}

export function MacroPanel() {
  const list = macros.value;
  if (list.length === 0 || !canOperate.value) return null;
  return (
    <Panel title="Macros" icon="console" id="macros">
      <div class="macros">
        {list.map((name) => (
          <ActionButton
            key={name}
            class="small"
            action={() => gcode(name)}
            title={macroDescription(name) || name}
            done={`${name} done`}
          >
            {name.replace(/_/g, ' ')}
          </ActionButton>
        ))}
      </div>
    </Panel>
  );
}
