// The current print as the status card shows it: state, file, progress, layer, elapsed and the ETA.
import { computed, signal } from '@preact/signals';
import { rpc } from '../api/session.ts';
import { metadataFor } from './files.ts';
import { displayStatus, klippyState, printStats, virtualSdcard } from './printer.ts';

export type JobState = 'standby' | 'printing' | 'paused' | 'complete' | 'cancelled' | 'error';

export const jobState = computed<JobState>(() => printStats.value?.state ?? 'standby');
export const jobFile = computed(() => printStats.value?.filename ?? '');
export const jobActive = computed(() => jobState.value === 'printing' || jobState.value === 'paused');
export const jobMetadata = computed(() => (jobFile.value ? metadataFor(jobFile.value).value : null));

/** 0..1. Klipper's display_status mixes in M73; virtual_sdcard is the file position. */
export const jobProgress = computed(() => {
  const display = displayStatus.value?.progress;
  if (typeof display === 'number' && display > 0) return Math.min(1, display);
  return Math.min(1, virtualSdcard.value?.progress ?? 0);
});

export const jobElapsedS = computed(() => printStats.value?.print_duration ?? 0);

/**
 * Seconds left, as Mainsail's default does: the average of the file-position estimate (time so far
 * scaled by progress) and the slicer's estimate minus time printed, whichever exist.
 */
export const jobRemainingS = computed<number | null>(() => {
  if (!jobActive.value) return null;
  const elapsed = jobElapsedS.value;
  const progress = jobProgress.value;
  const estimates: number[] = [];
  if (progress > 0.01 && elapsed > 0) estimates.push(elapsed / progress - elapsed);
  const slicer = jobMetadata.value?.estimated_time;
  if (typeof slicer === 'number' && slicer > 0) estimates.push(Math.max(0, slicer - elapsed));
  if (estimates.length === 0) return null;
  return estimates.reduce((a, b) => a + b, 0) / estimates.length;
});

export const jobLayer = computed(() => {
  const info = printStats.value?.info;
  const total = info?.total_layer ?? jobMetadata.value?.layer_count ?? null;
  const current = info?.current_layer ?? null;
  return { current, total };
});

/** A card label: the printer's own trouble wins over the job. */
export const statusLabel = computed(() => {
  const klippy = klippyState.value;
  if (klippy === 'shutdown') return 'Shutdown';
  if (klippy === 'error') return 'Error';
  if (klippy === 'startup') return 'Connecting to printer';
  switch (jobState.value) {
    case 'printing':
      return 'Printing';
    case 'paused':
      return 'Paused';
    case 'complete':
      return 'Complete';
    case 'cancelled':
      return 'Cancelled';
    case 'error':
      return 'Print failed';
    default:
      return 'Ready';
  }
});

/** Which of pause/resume/cancel is on its way, so buttons stay disabled until the answer. */
export const jobCommandPending = signal<'' | 'pause' | 'resume' | 'cancel' | 'start'>('');

export async function jobCommand(command: 'pause' | 'resume' | 'cancel'): Promise<void> {
  jobCommandPending.value = command;
  try {
    await rpc.call(`printer.print.${command}`);
  } finally {
    jobCommandPending.value = '';
  }
}

export async function startPrint(filename: string): Promise<void> {
  jobCommandPending.value = 'start';
  try {
    await rpc.call('printer.print.start', { filename });
  } finally {
    jobCommandPending.value = '';
  }
}
