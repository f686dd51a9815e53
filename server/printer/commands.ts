// Host-side G-code commands (Klipper's register_command): handled by Brim, never sent to the firmware.
import type { LineSource } from '../serial/link.ts';

export interface HostCommandContext {
  /** The line as typed, without comment. */
  raw: string;
  /** Upper-case KEY → value as written (`NAME=part_1` → { NAME: 'part_1' }). */
  params: Record<string, string>;
  source: LineSource;
  /** Replies go to the consoles as notify_gcode_response. */
  respond(message: string): void;
  /** Sends firmware lines (through the same interception) and resolves after the last one's ok. */
  run(script: string): Promise<void>;
}

export interface HostCommand {
  /** Upper case, e.g. `SET_PRINT_STATS_INFO`. */
  name: string;
  /** Shown by printer.gcode.help and console completion. */
  help: string;
  run(context: HostCommandContext): void | Promise<void>;
}

export class HostCommands {
  private readonly commands = new Map<string, HostCommand>();

  register(command: HostCommand): void {
    const name = command.name.toUpperCase();
    if (this.commands.has(name)) throw new Error(`G-code command ${name} is registered twice`);
    this.commands.set(name, { ...command, name });
  }

  get(name: string): HostCommand | undefined {
    return this.commands.get(name.toUpperCase());
  }

  help(): Record<string, string> {
    return Object.fromEntries([...this.commands.values()].map((c) => [c.name, c.help]));
  }
}
