// Small byte FIFOs for the virtual printer: a bounded ring (the UART RX buffer) and an unbounded inbox.

/** A fixed ring that holds `capacity` bytes, like Marlin's RX ring (which holds RX_BUFFER_SIZE - 1). */
export class ByteRing {
  private readonly buf: Uint8Array;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Uint8Array(Math.max(1, capacity));
  }

  get length(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= this.capacity;
  }

  /** Returns false (and stores nothing) when full. */
  push(byte: number): boolean {
    if (this.isFull()) return false;
    this.buf[(this.head + this.count) % this.buf.length] = byte;
    this.count++;
    return true;
  }

  /** Next byte, or -1 when empty. */
  shift(): number {
    if (this.count === 0) return -1;
    const b = this.buf[this.head] as number;
    this.head = (this.head + 1) % this.buf.length;
    this.count--;
    return b;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

/** Unbounded FIFO of bytes, stored as the chunks they arrived in. */
export class ByteInbox {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Next byte, or -1 when empty. */
  shift(): number {
    const chunk = this.chunks[0];
    if (!chunk) return -1;
    const b = chunk[this.offset] as number;
    this.offset++;
    this.total--;
    if (this.offset >= chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
    return b;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.total = 0;
  }
}
