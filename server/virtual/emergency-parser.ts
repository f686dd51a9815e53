// Byte-level recogniser for Marlin's out-of-band commands (M108, M112, M410, M524, M876 S<n>).

/**
 * What a recognised line asks for. Marlin acts at the end of the line, and the same line
 * still travels on into the command queue (so M108/M410/M876 also get their normal `ok`).
 */
export type EmergencyCommand =
  | { readonly code: 'M108' }
  | { readonly code: 'M112' }
  | { readonly code: 'M410' }
  | { readonly code: 'M524' }
  | { readonly code: 'M876'; readonly response: number };

/**
 * The states mirror Marlin's e_parser behaviour, including its quirks, because a host that
 * relies on the emergency path must see the same outcome as on real hardware:
 * - a leading `N<digits>` is skipped, spaces are allowed after `N` digits and after `M`;
 * - once `M112` (or `M108`, `M410`, `M524`) is matched, anything up to the end of the line
 *   keeps it armed, so `M1120` or `M112*33` still kill;
 * - a line that ends in the middle of a code (`M1\n`, `N5\n`) leaves the parser ignoring the
 *   whole NEXT line, because the newline itself was consumed as the mismatch.
 * - M876 takes exactly one digit after `S`, and waits for it across line ends.
 */
type State =
  | 'reset'
  | 'n'
  | 'm'
  | 'm1'
  | 'm10'
  | 'm11'
  | 'm4'
  | 'm41'
  | 'm5'
  | 'm52'
  | 'm8'
  | 'm87'
  | 'm876'
  | 'm876s'
  | 'ignore'
  | { readonly armed: EmergencyCommand };

const isEol = (c: number): boolean => c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const ch = (s: string): number => s.charCodeAt(0);

export interface EmergencyParserOptions {
  /** M524 is only recognised when the firmware has media (SD) support. */
  readonly media?: boolean;
  /** M876 is only recognised with host prompt support. */
  readonly prompts?: boolean;
}

export class EmergencyParser {
  private state: State = 'reset';
  private readonly media: boolean;
  private readonly prompts: boolean;

  constructor(options: EmergencyParserOptions = {}) {
    this.media = options.media ?? false;
    this.prompts = options.prompts ?? true;
  }

  /** Feeds one byte; returns the command when a recognised line ends with this byte. */
  feed(c: number): EmergencyCommand | null {
    const s = this.state;
    if (typeof s === 'object') {
      if (!isEol(c)) return null;
      this.state = 'reset';
      return s.armed;
    }
    switch (s) {
      case 'reset':
        if (c === ch(' ') || isEol(c)) return null;
        this.state = c === ch('N') ? 'n' : c === ch('M') ? 'm' : 'ignore';
        return null;
      case 'n':
        if (isDigit(c) || c === ch('-') || c === ch(' ')) return null;
        this.state = c === ch('M') ? 'm' : 'ignore';
        return null;
      case 'm':
        if (c === ch(' ')) return null;
        if (c === ch('1')) this.state = 'm1';
        else if (c === ch('4')) this.state = 'm4';
        else if (c === ch('5') && this.media) this.state = 'm5';
        else if (c === ch('8') && this.prompts) this.state = 'm8';
        else this.state = 'ignore';
        return null;
      case 'm1':
        this.state = c === ch('0') ? 'm10' : c === ch('1') ? 'm11' : 'ignore';
        return null;
      case 'm10':
        this.state = c === ch('8') ? { armed: { code: 'M108' } } : 'ignore';
        return null;
      case 'm11':
        this.state = c === ch('2') ? { armed: { code: 'M112' } } : 'ignore';
        return null;
      case 'm4':
        this.state = c === ch('1') ? 'm41' : 'ignore';
        return null;
      case 'm41':
        this.state = c === ch('0') ? { armed: { code: 'M410' } } : 'ignore';
        return null;
      case 'm5':
        this.state = c === ch('2') ? 'm52' : 'ignore';
        return null;
      case 'm52':
        this.state = c === ch('4') ? { armed: { code: 'M524' } } : 'ignore';
        return null;
      case 'm8':
        this.state = c === ch('7') ? 'm87' : 'ignore';
        return null;
      case 'm87':
        this.state = c === ch('6') ? 'm876' : 'ignore';
        return null;
      case 'm876':
        if (c === ch(' ')) return null;
        this.state = c === ch('S') ? 'm876s' : 'ignore';
        return null;
      case 'm876s':
        // Marlin neither advances nor gives up on anything but a digit here, not even a
        // newline: `M876 S` followed by `G1 X5` answers the prompt with 1.
        if (isDigit(c)) this.state = { armed: { code: 'M876', response: c - 0x30 } };
        return null;
      case 'ignore':
        if (isEol(c)) this.state = 'reset';
        return null;
    }
  }

  reset(): void {
    this.state = 'reset';
  }
}
