// Per-browser settings kept in localStorage: theme and the jog pad's step sizes.
import { computed, effect, signal } from '@preact/signals';

export type ThemeChoice = 'auto' | 'dark' | 'light';

function stored<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  const value = localStorage.getItem(key);
  return allowed.includes(value as T) ? (value as T) : fallback;
}

export const theme = signal<ThemeChoice>(stored('brim.theme', ['auto', 'dark', 'light'], 'auto'));

const prefersDark = matchMedia('(prefers-color-scheme: dark)');
const systemDark = signal(prefersDark.matches);
prefersDark.addEventListener('change', (e) => {
  systemDark.value = e.matches;
});

export const resolvedTheme = computed(() =>
  theme.value === 'auto' ? (systemDark.value ? 'dark' : 'light') : theme.value,
);

effect(() => {
  document.documentElement.dataset.theme = resolvedTheme.value;
});

export function setTheme(choice: ThemeChoice): void {
  theme.value = choice;
  localStorage.setItem('brim.theme', choice);
}

export function toggleTheme(): void {
  setTheme(resolvedTheme.peek() === 'dark' ? 'light' : 'dark');
}

export const XY_STEPS = [0.1, 1, 10, 50, 100] as const;
export const Z_STEPS = [0.01, 0.1, 1, 10, 25] as const;

function storedNumber(key: string, allowed: readonly number[], fallback: number): number {
  const value = Number(localStorage.getItem(key));
  return allowed.includes(value) ? value : fallback;
}

export const xyStep = signal(storedNumber('brim.jog.xy', XY_STEPS, 10));
export const zStep = signal(storedNumber('brim.jog.z', Z_STEPS, 1));

effect(() => localStorage.setItem('brim.jog.xy', String(xyStep.value)));
effect(() => localStorage.setItem('brim.jog.z', String(zStep.value)));

/** Jog feed rates in mm/s (Mainsail's defaults). */
export const XY_SPEED = 100;
export const Z_SPEED = 10;
