import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.ts';
import { hashPassword, signToken, verifyPassword, verifyToken } from './tokens.ts';
import { TrustedNetworks } from './trusted.ts';

describe('trusted networks', () => {
  it('matches IPv4 ranges, IPv4-mapped IPv6 addresses and IPv6 ranges', () => {
    const trusted = new TrustedNetworks(['127.0.0.0/8', '192.168.1.0/24', '::1', 'fd00::/8']);
    expect(trusted.contains('127.0.0.1')).toBe(true);
    expect(trusted.contains('::ffff:192.168.1.77')).toBe(true);
    expect(trusted.contains('192.168.2.1')).toBe(false);
    expect(trusted.contains('::1')).toBe(true);
    expect(trusted.contains('fd12::5')).toBe(true);
    expect(trusted.contains('2001:db8::1')).toBe(false);
    expect(trusted.contains('not an address')).toBe(false);
  });

  it('names a bad entry', () => {
    expect(() => new TrustedNetworks(['192.168.1.0/33'])).toThrow('"192.168.1.0/33" has a bad prefix length');
    expect(() => new TrustedNetworks(['localhost'])).toThrow(
      '"localhost" is not an IP address or CIDR range',
    );
  });
});

describe('tokens', () => {
  it('verifies its own tokens and refuses tampered, expired, wrong-type and wrong-secret ones', () => {
    const token = signToken({ sub: 'ada', typ: 'access', iat: 100, exp: 200 }, 'secret-a');
    expect(verifyToken(token, 'secret-a', 'access', 150)).toMatchObject({ sub: 'ada' });
    expect(verifyToken(token, 'secret-a', 'access', 200)).toBeNull();
    expect(verifyToken(token, 'secret-a', 'refresh', 150)).toBeNull();
    expect(verifyToken(token, 'secret-b', 'access', 150)).toBeNull();
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'root', typ: 'access', iat: 100, exp: 999 })).toString('base64url')}.${s}`;
    expect(verifyToken(forged, 'secret-a', 'access', 150)).toBeNull();
  });

  it('hashes passwords with a salt and checks them', async () => {
    const one = await hashPassword('correct horse');
    const two = await hashPassword('correct horse');
    expect(one).not.toBe(two);
    expect(await verifyPassword('correct horse', one)).toBe(true);
    expect(await verifyPassword('wrong', one)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });
});

describe('login rate limit', () => {
  it('blocks a client after five failures within a minute, and lets it try again later', () => {
    const limiter = new FailureLimiter(5, 60);
    for (let i = 0; i < 5; i++) limiter.fail('10.0.0.5', 100 + i);
    expect(limiter.blockedFor('10.0.0.5', 105)).toBe(55);
    expect(limiter.blockedFor('10.0.0.6', 105)).toBe(0);
    expect(limiter.blockedFor('10.0.0.5', 161)).toBe(0);
  });
});
