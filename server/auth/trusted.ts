// `trusted_clients`: CIDR ranges whose requests need no login (node:net's BlockList does the matching).
import { BlockList, isIP } from 'node:net';

export class TrustedNetworks {
  private readonly list = new BlockList();

  /** Throws naming the entry when one is not an address or CIDR range. */
  constructor(ranges: readonly string[]) {
    for (const range of ranges) {
      const [address = '', bits] = range.split('/');
      const family = isIP(address);
      if (family === 0) throw new Error(`"${range}" is not an IP address or CIDR range`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw new Error(`"${range}" has a bad prefix length`);
      }
      this.list.addSubnet(address, prefix, type);
    }
  }

  /** IPv4 clients often arrive as `::ffff:a.b.c.d` on a dual-stack socket. */
  contains(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1]! : address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}
