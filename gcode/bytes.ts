// UTF-8 byte counting for strings, so offsets computed on decoded text match offsets in the file.

/**
 * Bytes `text.slice(start, end)` takes in UTF-8. A surrogate pair counts 4 (its high half 4, the low
 * half 0); TextDecoder never yields lone surrogates, it writes U+FFFD (3 bytes) instead.
 */
export function utf8ByteLength(text: string, start = 0, end = text.length): number {
  let bytes = end - start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) bytes += 3;
    else if (c >= 0xdc00 && c <= 0xdfff) bytes -= 1;
    else bytes += 2;
  }
  return bytes;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** True when every character is ASCII, so byte offsets equal string offsets. */
export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}
