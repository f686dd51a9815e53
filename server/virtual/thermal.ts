// First-order heater model: believable heat-up curves and PWM figures for the virtual printer.

/** How one heater behaves. Defaults give a hotend ~40 s to 200 C and a bed ~60 s to 60 C. */
export interface HeaterModel {
  /** Temperature rise above ambient at full power, in C (the heater's ceiling). */
  readonly riseAtFullPowerC: number;
  /** First-order time constant in seconds. */
  readonly timeConstantS: number;
  /** Highest target the firmware accepts (Marlin: MAXTEMP minus the overshoot margin). */
  readonly maxTargetC: number;
}

export const HOTEND_MODEL: HeaterModel = { riseAtFullPowerC: 280, timeConstantS: 40, maxTargetC: 260 };
export const BED_MODEL: HeaterModel = { riseAtFullPowerC: 100, timeConstantS: 120, maxTargetC: 140 };

/** Proportional band on top of the feed-forward term; small enough to avoid overshoot. */
const GAIN_PER_C = 0.1;

export class Heater {
  temperature: number;
  target = 0;
  /** Heater output 0..1 during the last step. */
  output = 0;

  constructor(
    readonly model: HeaterModel,
    private readonly ambientC: number,
  ) {
    this.temperature = ambientC;
  }

  setTarget(celsius: number): void {
    this.target = Math.min(Math.max(0, celsius), this.model.maxTargetC);
  }

  /** PWM as Marlin reports it after `@:` on an AVR board (7-bit soft PWM). */
  pwm(): number {
    return Math.round(this.output * 127);
  }

  /**
   * Advances the plant by `dtMs`. The controller output is re-chosen every 100 ms at most: a
   * longer hold (a stalled event loop) would make the proportional term oscillate. After ten
   * minutes every heater has settled, so longer gaps are cut short.
   */
  step(dtMs: number): void {
    let remaining = Math.min(dtMs, 600_000);
    while (remaining > 0) {
      const dt = Math.min(remaining, 100);
      this.stepOnce(dt);
      remaining -= dt;
    }
  }

  private stepOnce(dtMs: number): void {
    const { riseAtFullPowerC, timeConstantS } = this.model;
    if (this.target <= 0) {
      this.output = 0;
    } else {
      // Feed-forward to the power that holds the target, plus a proportional correction,
      // so the temperature settles exactly on target like a tuned PID would.
      const hold = (this.target - this.ambientC) / riseAtFullPowerC;
      this.output = Math.min(1, Math.max(0, hold + (this.target - this.temperature) * GAIN_PER_C));
    }
    const equilibrium = this.ambientC + this.output * riseAtFullPowerC;
    const decay = Math.exp(-dtMs / 1000 / timeConstantS);
    this.temperature = equilibrium + (this.temperature - equilibrium) * decay;
  }

  /** Marlin's isHeating/isCooling split: below target means heating. */
  isCooling(): boolean {
    return this.target < this.temperature;
  }
}
