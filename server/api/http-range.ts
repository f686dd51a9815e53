// HTTP Range requests (RFC 9110 §14) for file downloads: the preview fetches one layer's bytes at a time.

/** A satisfiable single byte range, `end` inclusive as in Content-Range. */
export interface ByteRangeRequest {
  start: number;
  end: number;
}

export type RangeOutcome =
  /** No Range header, another unit, or several ranges: send the whole file (RFC 9110 lets a server ignore them). */
  | { kind: 'whole' }
  | { kind: 'partial'; range: ByteRangeRequest }
  /** Answer 416 with `Content-Range: bytes *\/size`; `reason` says what was wrong. */
  | { kind: 'unsatisfiable'; reason: string };

const SPEC = /^(\d*)-(\d*)$/;

/** Reads a `Range` header against a file of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeOutcome {
  if (header === undefined) return { kind: 'whole' };
  const trimmed = header.trim();
  const eq = trimmed.indexOf('=');
  if (eq < 0)
    return { kind: 'unsatisfiable', reason: `Range '${header}' is not of the form bytes=start-end` };
  if (trimmed.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'whole' };
  const specs = trimmed.slice(eq + 1).split(',');
  // One range is what previews ask for; a multipart/byteranges answer is not worth its weight here.
  if (specs.length > 1) return { kind: 'whole' };
  const spec = specs[0]!.trim();
  const match = SPEC.exec(spec);
  if (!match || (match[1] === '' && match[2] === '')) {
    return {
      kind: 'unsatisfiable',
      reason: `Range '${header}': '${spec}' is not start-end, start- or -suffix`,
    };
  }
  const [, first, last] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return { kind: 'unsatisfiable', reason: `Range '${header}' asks for the last 0 bytes` };
    if (size === 0) return { kind: 'unsatisfiable', reason: `Range '${header}': the file is empty` };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) {
    return { kind: 'unsatisfiable', reason: `Range '${header}' ends before it starts` };
  }
  if (start >= size) {
    return {
      kind: 'unsatisfiable',
      reason: `Range '${header}' starts at or past the end of the file (${size} bytes)`,
    };
  }
  return { kind: 'partial', range: { start, end } };
}
