// What the streamer must know about a command before sending it: emergency, blocking, or ordinary.

/**
 * Handled by Marlin's emergency parser as the bytes arrive (notes §5), so they overtake our queue.
 * M112 kills; the others still get an `ok` because the firmware also queues them.
 */
export const EMERGENCY_COMMANDS: ReadonlySet<string> = new Set(['M112', 'M108', 'M410', 'M524', 'M876']);

/** Commands that may wait minutes without a reply; without busy keepalive the dead-firmware timeout stretches. */
const LONG_COMMANDS: ReadonlySet<string> = new Set([
  'M109',
  'M190',
  'M191',
  'G28',
  'G29',
  'M400',
  'M600',
  'M0',
  'M1',
  'G4',
  'M303',
]);

/**
 * Commands that block the firmware's queue or change state the next line depends on (notes §13 rule 3):
 * the window drains before them and nothing follows until their `ok`. Every long command is one.
 */
const BLOCKING_COMMANDS: ReadonlySet<string> = new Set([
  ...LONG_COMMANDS,
  'M500',
  'M501',
  'M502',
  'M110',
  'M115',
  'M114',
  'M105',
  'M119',
  'M503',
  'M20',
  'M23',
  'M24',
  'M999',
]);

/** `G1 X1` → `G1`; `g28` → `G28`; `T1` → `T1`; leading zeros dropped (`G01` → `G1`). */
export function commandWord(text: string): string {
  const match = /^\s*([A-Za-z])0*(\d+)(?:\.\d+)?/.exec(text);
  if (match) return `${match[1]!.toUpperCase()}${match[2]}`;
  return (/^\s*(\S+)/.exec(text)?.[1] ?? '').toUpperCase();
}

export function isEmergency(command: string): boolean {
  return EMERGENCY_COMMANDS.has(command);
}

export function isBlocking(command: string): boolean {
  // A tool change moves and may heat: treat it like the other blocking commands.
  return BLOCKING_COMMANDS.has(command) || /^T\d+$/.test(command);
}

export function isLong(command: string): boolean {
  return LONG_COMMANDS.has(command);
}
