// The live temperature chart (uPlot): one solid line per sensor and a dashed one for its target.
import { effect } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { heaterLabel } from '../state/printer.ts';
import { resolvedTheme } from '../state/settings.ts';
import { history, historyVersion } from '../state/temperatures.ts';

const SERIES_COLOURS = ['#f4511e', '#1e88e5', '#43a047', '#8e24aa', '#fdd835', '#00acc1', '#6d4c41'];

const MIN_WINDOW_S = 600;

export function colourFor(index: number): string {
  return SERIES_COLOURS[index % SERIES_COLOURS.length]!;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function TemperatureChart({ sensors, height = 220 }: { sensors: string[]; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const key = sensors.join('|');

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let plot: uPlot | null = null;

    const data = (): uPlot.AlignedData => [
      history.times,
      ...sensors.flatMap((name) => {
        const s = history.series.get(name);
        const empty = history.times.map(() => null);
        return [s?.temperatures ?? empty, s?.targets ?? empty];
      }),
    ];

    const build = () => {
      plot?.destroy();
      const axisColour = cssVar('--muted');
      const gridColour = cssVar('--grid');
      const axis: uPlot.Axis = {
        stroke: axisColour,
        grid: { stroke: gridColour, width: 1 },
        ticks: { stroke: gridColour, width: 1 },
      };
      plot = new uPlot(
        {
          width: Math.max(200, element.clientWidth),
          height,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: {
            // At least ten minutes wide, new samples at the right edge, even with few points yet.
            x: {
              time: true,
              range: (_u, min, max) => {
                const end = Number.isFinite(max) ? max : Date.now() / 1000;
                const start = Number.isFinite(min) ? Math.min(min, end - MIN_WINDOW_S) : end - MIN_WINDOW_S;
                return [start, end];
              },
            },
            y: {
              range: (_u, _min, max) => [
                0,
                Math.max(50, Math.ceil(((Number.isFinite(max) ? max : 0) + 10) / 50) * 50),
              ],
            },
          },
          axes: [axis, { ...axis, size: 40, values: (_u, ticks) => ticks.map((t) => `${t}°`) }],
          series: [
            {},
            ...sensors.flatMap((name, i) => [
              { label: heaterLabel(name), stroke: colourFor(i), width: 2, points: { show: false } },
              {
                label: `${heaterLabel(name)} target`,
                stroke: colourFor(i),
                width: 1,
                dash: [6, 4],
                points: { show: false },
              },
            ]),
          ],
        },
        data(),
        element,
      );
    };

    build();
    const stopData = effect(() => {
      historyVersion.value;
      plot?.setData(data());
      // The newest sample per sensor, for tests and scripts that cannot read a canvas.
      element.dataset.latest = sensors
        .map((name) => {
          const s = history.series.get(name);
          return `${name}=${s?.temperatures.at(-1) ?? ''}/${s?.targets.at(-1) ?? ''}`;
        })
        .join(' ');
    });
    let theme = resolvedTheme.peek();
    const stopTheme = effect(() => {
      if (resolvedTheme.value !== theme) {
        theme = resolvedTheme.value;
        build();
      }
    });
    const observer = new ResizeObserver(() => {
      if (plot && Math.abs(plot.width - element.clientWidth) > 2) {
        plot.setSize({ width: Math.max(200, element.clientWidth), height });
      }
    });
    observer.observe(element);
    return () => {
      stopData();
      stopTheme();
      observer.disconnect();
      plot?.destroy();
    };
  }, [key, height]);

  return <div ref={host} class="chart" role="img" aria-label="Temperature history, last 20 minutes" />;
}
