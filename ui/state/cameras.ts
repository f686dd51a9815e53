// The daemon's webcams (server.webcams.*), reloaded on each connection and on notify_webcams_changed:
// the dashboard shows the enabled ones, settings edits them all.
import { computed, signal } from '@preact/signals';
import { onConnected, onNotification, rpc } from '../api/session.ts';

/** Moonraker's webcam entry, as server.webcams.list returns it. */
export interface Webcam {
  uid?: string;
  name: string;
  location?: string;
  service: string;
  enabled?: boolean;
  icon?: string;
  target_fps: number;
  target_fps_idle?: number;
  stream_url: string;
  snapshot_url: string;
  flip_horizontal: boolean;
  flip_vertical: boolean;
  rotation: number;
  aspect_ratio?: string;
  source?: string;
}

/** Services Mainsail and Fluidd know; the dashboard plays the MJPEG and snapshot ones itself. */
export const WEBCAM_SERVICES = [
  'mjpegstreamer-adaptive',
  'mjpegstreamer',
  'webrtc-camerastreamer',
  'webrtc-go2rtc',
  'hlsstream',
  'iframe',
] as const;

export const allWebcams = signal<Webcam[]>([]);
export const webcams = computed(() => allWebcams.value.filter((w) => w.enabled !== false));

export function loadWebcams(): Promise<void> {
  return rpc
    .query<{ webcams: Webcam[] }>('server.webcams.list')
    .then(({ webcams: list }) => {
      allWebcams.value = list;
    })
    .catch(() => {
      allWebcams.value = [];
    });
}

onConnected(() => void loadWebcams());
onNotification('notify_webcams_changed', () => void loadWebcams());

/** Adds a webcam, or changes the one with the same uid. */
export async function saveWebcam(webcam: Webcam): Promise<void> {
  const { source: _source, ...fields } = webcam;
  await rpc.call('server.webcams.post_item', { ...fields });
  await loadWebcams();
}

export async function deleteWebcam(webcam: Webcam): Promise<void> {
  await rpc.call('server.webcams.delete_item', webcam.uid ? { uid: webcam.uid } : { name: webcam.name });
  await loadWebcams();
}
