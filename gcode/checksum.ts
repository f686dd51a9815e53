// Line numbering and checksums shared by the serial link, the virtual printer and the analyser.

/** Marlin's checksum: XOR of every byte of the line before the `*`. */
export function checksum(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum ^= text.charCodeAt(i) & 0xff;
  return sum;
}

/** `N<n> <cmd>*<sum>` as Marlin expects it, without the newline. */
export function numberedLine(lineNumber: number, command: string): string {
  const body = `N${lineNumber} ${command}`;
  return `${body}*${checksum(body)}`;
}
