// Webcams from server.webcams.list: MJPEG streams as they are, snapshots polled adaptively (the next
// frame is asked for when the last one arrived), rotation and flip applied here; hidden when none exist.
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { httpBase } from '../api/endpoint.ts';
import { type Webcam, webcams } from '../state/cameras.ts';
import { Panel } from './common.tsx';
import { Icon } from './icon.tsx';

/** Webcam URLs are relative to the daemon's host (Moonraker's convention), unless absolute. */
function absolute(url: string): string {
  if (/^[a-z]+:\/\//i.test(url)) return url;
  return `${httpBase}${url.startsWith('/') ? '' : '/'}${url}`;
}

function SnapshotPoller({ cam, style }: { cam: Webcam; style: Record<string, string> }) {
  const img = useRef<HTMLImageElement>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const interval = 1000 / Math.max(1, cam.target_fps || 5);
    const next = () => {
      if (stopped || !img.current) return;
      if (document.visibilityState !== 'visible') {
        timer = setTimeout(next, 1000);
        return;
      }
      const started = performance.now();
      const url = new URL(absolute(cam.snapshot_url), location.href);
      url.searchParams.set('_', String(Date.now()));
      const frame = new Image();
      const schedule = () => {
        timer = setTimeout(next, Math.max(0, interval - (performance.now() - started)));
      };
      frame.onload = () => {
        if (img.current) img.current.src = frame.src;
        schedule();
      };
      frame.onerror = () => {
        timer = setTimeout(next, 2000);
      };
      frame.src = url.toString();
    };
    next();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [cam.snapshot_url, cam.target_fps]);
  return <img ref={img} class="webcam-img" alt={`Webcam ${cam.name}`} style={style} />;
}

function WebcamView({ cam }: { cam: Webcam }) {
  // The whole figure goes full screen, so its buttons (Leave full screen above all) stay on screen.
  const figure = useRef<HTMLElement>(null);
  const extraRotation = useSignal(0);
  const fullScreen = useSignal(false);
  // Esc leaves full screen without the button, so the label follows the document, not the click.
  useEffect(() => {
    const changed = () => {
      fullScreen.value = document.fullscreenElement !== null && document.fullscreenElement === figure.current;
    };
    document.addEventListener('fullscreenchange', changed);
    return () => document.removeEventListener('fullscreenchange', changed);
  }, []);
  const toggleFullScreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void figure.current?.requestFullscreen?.();
  };
  const rotation = (cam.rotation + extraRotation.value) % 360;
  const transform = [
    `rotate(${rotation}deg)`,
    cam.flip_horizontal ? 'scaleX(-1)' : '',
    cam.flip_vertical ? 'scaleY(-1)' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const style = { transform };
  const mjpeg = /mjpeg/.test(cam.service) && cam.service !== 'mjpegstreamer-adaptive' && cam.stream_url;
  return (
    <figure ref={figure} class="webcam">
      <div
        class="webcam-box"
        // Full screen, the picture takes what the screen gives instead of its own shape.
        style={fullScreen.value ? undefined : { aspectRatio: (cam.aspect_ratio ?? '4:3').replace(':', '/') }}
      >
        {mjpeg ? (
          <img class="webcam-img" src={absolute(cam.stream_url)} alt={`Webcam ${cam.name}`} style={style} />
        ) : cam.snapshot_url ? (
          <SnapshotPoller cam={cam} style={style} />
        ) : (
          <a href={absolute(cam.stream_url)} target="_blank" rel="noreferrer">
            Open stream
          </a>
        )}
      </div>
      <figcaption>
        <span>{cam.name}</span>
        <button
          type="button"
          class="icon-btn"
          aria-label="Rotate 90°"
          onClick={() => (extraRotation.value = (extraRotation.value + 90) % 360)}
        >
          <Icon name="rotate" />
        </button>
        <button
          type="button"
          class="icon-btn"
          aria-label={fullScreen.value ? 'Leave full screen' : 'Full screen'}
          aria-pressed={fullScreen.value}
          onClick={toggleFullScreen}
        >
          <Icon name="fullscreen" />
        </button>
      </figcaption>
    </figure>
  );
}

export function WebcamPanel() {
  const list = webcams.value;
  if (list.length === 0) return null;
  return (
    <Panel title={list.length > 1 ? 'Webcams' : 'Webcam'} icon="camera" id="webcams">
      <div class="webcams">
        {list.map((cam) => (
          <WebcamView key={cam.uid ?? cam.name} cam={cam} />
        ))}
      </div>
    </Panel>
  );
}
