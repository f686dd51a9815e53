import { describe, expect, it } from 'vitest';
import type { ActionReply } from '../../gcode/replies.ts';
import { parseReply } from '../../gcode/replies.ts';
import { PromptTranslator } from './prompts.ts';

const action = (line: string) => parseReply(line) as ActionReply;

describe('host prompts', () => {
  it('turns a Marlin filament-change prompt into a dialog whose buttons answer with M876', () => {
    const prompts = new PromptTranslator();
    const lines = [
      '//action:prompt_begin Filament runout',
      '//action:prompt_button Continue',
      '//action:prompt_button Purge more',
      '//action:prompt_show',
    ].map((line) => prompts.translate(action(line)));
    expect(lines).toEqual([
      '// action:prompt_begin Filament runout',
      '// action:prompt_button Continue|M876 S0|primary',
      '// action:prompt_button Purge more|M876 S1|secondary',
      '// action:prompt_show',
    ]);
    expect(prompts.translate(action('//action:prompt_begin Next'))).toBe('// action:prompt_begin Next');
    expect(prompts.translate(action('//action:prompt_button OK'))).toBe(
      '// action:prompt_button OK|M876 S0|primary',
    );
  });

  it('leaves other actions alone', () => {
    expect(new PromptTranslator().translate(action('//action:pause'))).toBeNull();
  });
});
