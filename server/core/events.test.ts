import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Bus } from './events.ts';

function capturingLogger() {
  const lines: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
  return { log, lines };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Bus', () => {
  it('delivers to every listener even when one throws, and logs the owner', async () => {
    const { log, lines } = capturingLogger();
    const bus = new Bus(log);
    const received: string[] = [];
    bus.on('component:failed', 'history', () => {
      throw new Error('disk full');
    });
    bus.on('component:failed', 'mqtt', (payload) => {
      received.push(payload.name);
    });
    bus.emit('component:failed', { name: 'camera', error: 'gone' });
    await settle();
    expect(received).toEqual(['camera']);
    expect(lines.join('')).toContain('listener of component:failed in history failed');
  });

  it('does not wait for listeners: emit returns before any listener runs', () => {
    const bus = new Bus(pino({ level: 'silent' }));
    let ran = false;
    bus.on('host:stopping', 'x', () => {
      ran = true;
    });
    bus.emit('host:stopping', {});
    expect(ran).toBe(false);
  });

  it('catches a rejected async listener', async () => {
    const { log, lines } = capturingLogger();
    const bus = new Bus(log);
    bus.on('host:stopping', 'slow', async () => {
      throw new Error('late failure');
    });
    bus.emit('host:stopping', {});
    await settle();
    expect(lines.join('')).toContain('late failure');
  });

  it('removes every listener of an owner with off()', async () => {
    const bus = new Bus(pino({ level: 'silent' }));
    const calls: string[] = [];
    bus.on('host:stopping', 'a', () => {
      calls.push('a');
    });
    bus.on('host:ready', 'a', () => {
      calls.push('a-ready');
    });
    bus.on('host:stopping', 'b', () => {
      calls.push('b');
    });
    bus.off('a');
    bus.emit('host:stopping', {});
    bus.emit('host:ready', { startedComponents: [] });
    await settle();
    expect(calls).toEqual(['b']);
  });
});
