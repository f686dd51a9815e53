// Marlin's host prompts (`//action:prompt_*`) rewritten in Klipper's form, which Mainsail and Fluidd show
// as a dialog; each button answers with the `M876 S<n>` Marlin waits for.
import type { ActionReply } from '../../gcode/replies.ts';

export class PromptTranslator {
  private buttons = 0;

  /** The console line for a prompt action, or null for any other action. */
  translate(action: ActionReply): string | null {
    switch (action.name) {
      case 'prompt_begin':
        this.buttons = 0;
        return `// action:prompt_begin ${action.args}`;
      case 'prompt_button':
      case 'prompt_choice': {
        const index = this.buttons++;
        return `// action:prompt_button ${action.args}|M876 S${index}|${index === 0 ? 'primary' : 'secondary'}`;
      }
      case 'prompt_show':
        return '// action:prompt_show';
      case 'prompt_end':
        return '// action:prompt_end';
      default:
        return null;
    }
  }
}
