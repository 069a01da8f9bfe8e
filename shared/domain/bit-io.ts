/**
 * Byte and bit streams of the packed formats (runtime sets, metrics history): little-endian base-128
 * varints (7 value bits a byte, high bit set on all but the last), fixed-width bit fields most
 * significant bit first, bit varints (groups of a continuation bit and 7 value bits, lowest group
 * first) and zero padding to a whole byte. The reader validates as it goes and throws the error its
 * owner makes on anything truncated, too long or not zero-padded.
 */

export class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  byte(value: number): void {
    this.bytes.push(value & 0xff);
  }

  varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.bytes.push(rest);
  }

  raw(bytes: Uint8Array): void {
    for (const b of bytes) this.bytes.push(b);
  }

  bits(value: number, width: number): void {
    for (let bit = width - 1; bit >= 0; bit--) {
      this.current = (this.current << 1) | (Math.floor(value / 2 ** bit) % 2);
      this.used++;
      if (this.used === 8) {
        this.bytes.push(this.current);
        this.current = 0;
        this.used = 0;
      }
    }
  }

  bitVarint(value: number): void {
    let rest = value;
    do {
      const group = rest % 0x80;
      rest = Math.floor(rest / 0x80);
      this.bits(rest > 0 ? 1 : 0, 1);
      this.bits(group, 7);
    } while (rest > 0);
  }

  /** Pads the bit section to a whole byte. */
  align(): void {
    if (this.used > 0) this.bits(0, 8 - this.used);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export class BitReader {
  private offset = 0;
  private bitOffset = 0; // bits already read of bytes[offset] in a bit section

  constructor(
    private readonly bytes: Uint8Array,
    private readonly error: (message: string) => Error,
  ) {}

  /** Throws the owner's error for `what`, at the current position. */
  fail(what: string): never {
    throw this.error(`${what} at byte ${String(this.offset)} of ${String(this.bytes.length)}`);
  }

  get remainingBits(): number {
    return (this.bytes.length - this.offset) * 8 - this.bitOffset;
  }

  byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) this.fail('truncated');
    this.offset++;
    return value;
  }

  /** A varint of at most `maxBytes` bytes (8 keep it a safe integer). */
  varint(maxBytes = 8): number {
    let value = 0;
    for (let index = 0; index < maxBytes; index++) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** (7 * index);
      if ((b & 0x80) === 0) return value;
    }
    return this.fail('varint too long');
  }

  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.offset) this.fail('truncated');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  bits(width: number): number {
    let value = 0;
    for (let index = 0; index < width; index++) {
      const b = this.bytes[this.offset];
      if (b === undefined) this.fail('truncated bits');
      value = value * 2 + ((b >> (7 - this.bitOffset)) & 1);
      this.bitOffset++;
      if (this.bitOffset === 8) {
        this.bitOffset = 0;
        this.offset++;
      }
    }
    return value;
  }

  bitVarint(maxGroups = 5): number {
    let value = 0;
    for (let index = 0; index < maxGroups; index++) {
      const more = this.bits(1);
      value += this.bits(7) * 2 ** (7 * index);
      if (more === 0) return value;
    }
    return this.fail('bit varint too long');
  }

  /** Skips the padding of a bit section, which must be 0 bits. */
  align(): void {
    if (this.bitOffset > 0 && this.bits(8 - this.bitOffset) !== 0) this.fail('non-zero padding');
  }

  end(): void {
    if (this.offset !== this.bytes.length) this.fail('trailing bytes');
  }
}

/** Proxmox VE's largest VMID. */
export const MAX_VMID = 999_999_999;

/** Bits needed for every value up to `max`. */
export function bitWidth(max: number): number {
  let width = 0;
  while (max >= 2 ** width) width++;
  return width;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Writes a section's node name (a varint of its UTF-8 length, then the bytes): never empty or repeated in a pack. */
export function writeNodeName(out: BitWriter, node: string, seen: Set<string>): void {
  if (node.length === 0 || seen.has(node))
    throw new RangeError(`node name empty or repeated: ${JSON.stringify(node)}`);
  seen.add(node);
  const name = utf8.encode(node);
  out.varint(name.length);
  out.raw(name);
}

/** Reads what {@link writeNodeName} wrote. */
export function readNodeName(input: BitReader, seen: Set<string>): string {
  const bytes = input.take(input.varint(4));
  let node: string;
  try {
    node = utf8Strict.decode(bytes);
  } catch {
    return input.fail('node name is not UTF-8');
  }
  if (node.length === 0 || seen.has(node)) input.fail('node name empty or repeated');
  seen.add(node);
  return node;
}

/** A VMID a pack may hold. */
export function checkVmid(vmid: number): number {
  if (!Number.isInteger(vmid) || vmid < 0 || vmid > MAX_VMID) throw new RangeError(`bad vmid ${vmid}`);
  return vmid;
}

/**
 * Writes entry `index`'s VMID (ascending within a section): the first as a varint before the bit
 * section, each later one as a gap bit (0: previous + 1) or a 1 and a bit varint of the gap − 2.
 */
export function writeVmid(out: BitWriter, index: number, vmid: number, previous: number): void {
  if (index === 0) out.varint(vmid);
  else if (vmid === previous + 1) out.bits(0, 1);
  else {
    out.bits(1, 1);
    out.bitVarint(vmid - previous - 2);
  }
}

/** Reads the first VMID of a section of `entries` (each later entry takes at least one bit). */
export function readFirstVmid(input: BitReader, entries: number): number {
  const vmid = input.varint(5);
  if (entries - 1 > input.remainingBits) input.fail('entry count beyond the data');
  if (vmid > MAX_VMID) input.fail('vmid out of range');
  return vmid;
}

/** Reads a later entry's VMID after `previous`. */
export function readNextVmid(input: BitReader, previous: number): number {
  const vmid = previous + (input.bits(1) === 0 ? 1 : input.bitVarint() + 2);
  if (vmid > MAX_VMID) input.fail('vmid out of range');
  return vmid;
}
