// The PAUSE, RESUME and CANCEL_PRINT macros: config tables named as Klipper's ([gcode_macro PAUSE] ...) with
// Marlin defaults, each also a `gcode_macro <NAME>` printer object, which is how Mainsail finds macros.
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent } from '../core/component.ts';

export interface GcodeMacro extends ComponentInstance {
  readonly name: string;
  /** The macro's G-code, one command a line. */
  readonly gcode: string;
  readonly description: string;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    'gcode_macro PAUSE': GcodeMacro;
    'gcode_macro RESUME': GcodeMacro;
    'gcode_macro CANCEL_PRINT': GcodeMacro;
  }
}

export const MACRO_COMPONENTS = [
  'gcode_macro PAUSE',
  'gcode_macro RESUME',
  'gcode_macro CANCEL_PRINT',
] as const;

function macroComponent(name: string, defaultGcode: string, gcodeHelp: string, defaultDescription: string) {
  const config = Type.Object({
    gcode: Type.String({ default: defaultGcode, description: gcodeHelp }),
    description: Type.String({
      default: defaultDescription,
      description: 'Help text shown for the command in the console and the macro list.',
    }),
  });
  return defineComponent({
    name: `gcode_macro ${name}`,
    needs: ['printer'],
    config,
    create(host): GcodeMacro {
      // Fluidd warns unless configfile has `gcode_macro CANCEL_PRINT` in exactly this case; Mainsail hides
      // macros whose settings carry rename_existing from its buttons, as with real Klipper configs.
      host.lookup('printer').addConfigSection(`gcode_macro ${name}`, {
        gcode: host.config.gcode,
        description: host.config.description,
        rename_existing: `BASE_${name}`,
      });
      return {
        name,
        gcode: host.config.gcode,
        description: host.config.description,
        // Klipper reports a macro's variables here; these macros have none.
        status: () => ({}),
      };
    },
  });
}

/** Retract 1 mm, lift 10 mm, park at the front left; Brim has already saved position and modes. */
export const DEFAULT_PAUSE_GCODE = 'M83\nG1 E-1 F2100\nG91\nG1 Z10 F600\nG90\nG1 X0 Y0 F6000';
/** Unretract; Brim restores temperatures before and position, E and modes after. */
export const DEFAULT_RESUME_GCODE = 'M83\nG1 E1 F2100';
/** Heaters and fan off, retract, lift, park, motors off. */
export const DEFAULT_CANCEL_GCODE =
  'M104 S0\nM140 S0\nM107\nM83\nG1 E-2 F2100\nG91\nG1 Z10 F600\nG90\nG1 X0 Y0 F6000\nM84';

export const pauseMacroComponent = macroComponent(
  'PAUSE',
  DEFAULT_PAUSE_GCODE,
  'G-code run after the lines already sent have finished, when a print pauses (PAUSE, M600, filament runout, a host action). Brim saves position, extrusion mode, feed rate, temperatures and fan before it runs.',
  'Pause the print: retract, lift and park',
);

export const resumeMacroComponent = macroComponent(
  'RESUME',
  DEFAULT_RESUME_GCODE,
  'G-code run when a paused print resumes, after Brim has brought the heaters back to their saved targets and before it moves back to the saved position and restores E, modes and feed rate.',
  'Resume the print: reheat, unretract and return',
);

export const cancelMacroComponent = macroComponent(
  'CANCEL_PRINT',
  DEFAULT_CANCEL_GCODE,
  'G-code run when a print is cancelled, after the lines already sent have finished: heaters and fan off, retract, lift, park, motors off.',
  'Cancel the print: heaters and fan off, lift and park',
);
