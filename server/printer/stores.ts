// Fixed-size histories behind server.temperature_store and server.gcode_store.

/** A ring of the last `capacity` values, oldest first when read. */
export class Ring<T> {
  private readonly items: T[] = [];

  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** The newest `count` items (all when omitted), oldest first; a copy the caller may keep. */
  last(count = this.capacity): T[] {
    return this.items.slice(Math.max(0, this.items.length - count));
  }

  get size(): number {
    return this.items.length;
  }
}

export interface SensorHistory {
  temperatures: Ring<number>;
  targets: Ring<number>;
  powers: Ring<number>;
}

export class TemperatureStore {
  private readonly sensors = new Map<string, SensorHistory>();

  constructor(readonly capacity: number) {}

  record(name: string, temperature: number, target: number, power: number): void {
    let history = this.sensors.get(name);
    if (!history) {
      history = {
        temperatures: new Ring(this.capacity),
        targets: new Ring(this.capacity),
        powers: new Ring(this.capacity),
      };
      this.sensors.set(name, history);
    }
    history.temperatures.push(temperature);
    history.targets.push(target);
    history.powers.push(power);
  }

  /** Moonraker's shape: `{<sensor>: {temperatures[], targets[], powers[]}}`, oldest first. */
  toJSON(): Record<string, { temperatures: number[]; targets: number[]; powers: number[] }> {
    const out: Record<string, { temperatures: number[]; targets: number[]; powers: number[] }> = {};
    for (const [name, h] of this.sensors) {
      out[name] = { temperatures: h.temperatures.last(), targets: h.targets.last(), powers: h.powers.last() };
    }
    return out;
  }
}

export interface GcodeEntry {
  message: string;
  /** Wall-clock seconds. */
  time: number;
  type: 'command' | 'response';
}
