// The status card on every page: printer state, current file with its thumbnail, progress, layer, times,
// and pause, resume and cancel (with confirmation).
import { fileUrl } from '../api/endpoint.ts';
import { baseName, clockIn, duration, filament, percent } from '../format.ts';
import { bestThumbnail } from '../state/files.ts';
import {
  jobActive,
  jobCommand,
  jobCommandPending,
  jobElapsedS,
  jobFile,
  jobLayer,
  jobMetadata,
  jobProgress,
  jobRemainingS,
  jobState,
  startPrint,
  statusLabel,
} from '../state/job.ts';
import { displayStatus, klippyState, printStats, webhooks } from '../state/printer.ts';
import { ActionButton, ProgressBar } from './common.tsx';

export function StatusCard() {
  const state = jobState.value;
  const file = jobFile.value;
  const meta = jobMetadata.value;
  const thumb = file ? bestThumbnail(meta, file) : null;
  const klippy = klippyState.value;
  const pending = jobCommandPending.value;
  const layer = jobLayer.value;
  const message = displayStatus.value?.message || printStats.value?.message || '';
  const tone =
    klippy !== 'ready'
      ? 'bad'
      : state === 'printing'
        ? 'busy'
        : state === 'paused' || state === 'cancelled'
          ? 'warn'
          : state === 'error'
            ? 'bad'
            : 'ok';

  return (
    <section class="status-card panel" aria-label="Printer status" data-state={state} data-klippy={klippy}>
      <div class="status-main">
        {thumb ? (
          <img class="status-thumb" src={fileUrl(thumb)} alt="" width={72} height={72} loading="lazy" />
        ) : null}
        <div class="status-text">
          <div class="status-line">
            <span class={`badge ${tone}`} data-testid="printer-state">
              {statusLabel.value}
            </span>
            {file ? (
              <span class="status-file" title={file}>
                {baseName(file)}
              </span>
            ) : (
              <span class="muted status-file">
                {klippy === 'ready' ? 'No print' : webhooks.value?.state_message}
              </span>
            )}
          </div>
          {message ? <div class="status-message muted">{message}</div> : null}
          {file && state !== 'standby' ? (
            <>
              <div class="status-progress">
                <ProgressBar value={jobProgress.value} label="Print progress" />
                <span class="status-pct">{percent(jobProgress.value)}</span>
              </div>
              <dl class="status-facts">
                <div>
                  <dt>Elapsed</dt>
                  <dd>{duration(jobElapsedS.value)}</dd>
                </div>
                {jobActive.value ? (
                  <>
                    <div>
                      <dt>Left</dt>
                      <dd>{duration(jobRemainingS.value)}</dd>
                    </div>
                    <div>
                      <dt>ETA</dt>
                      <dd>{clockIn(jobRemainingS.value)}</dd>
                    </div>
                  </>
                ) : null}
                {layer.total ? (
                  <div>
                    <dt>Layer</dt>
                    <dd>
                      {layer.current ?? '–'} / {layer.total}
                    </dd>
                  </div>
                ) : null}
                <div>
                  <dt>Filament</dt>
                  <dd>{filament(printStats.value?.filament_used)}</dd>
                </div>
              </dl>
            </>
          ) : null}
        </div>
      </div>
      <div class="status-actions">
        {state === 'printing' ? (
          <ActionButton
            icon="pause"
            action={() => jobCommand('pause')}
            disabled={pending !== ''}
            done="Pausing"
          >
            Pause
          </ActionButton>
        ) : null}
        {state === 'paused' ? (
          <ActionButton
            icon="play"
            variant="primary"
            action={() => jobCommand('resume')}
            disabled={pending !== ''}
            done="Resuming"
          >
            Resume
          </ActionButton>
        ) : null}
        {jobActive.value ? (
          <ActionButton
            icon="x"
            variant="danger"
            action={() => jobCommand('cancel')}
            disabled={pending !== ''}
            confirm={{
              title: 'Cancel the print?',
              message: `${baseName(file)} stops now and cannot be resumed.`,
              confirmLabel: 'Cancel print',
              danger: true,
            }}
            done="Print cancelled"
          >
            Cancel
          </ActionButton>
        ) : null}
        {!jobActive.value && file && (state === 'complete' || state === 'cancelled' || state === 'error') ? (
          <ActionButton
            icon="refresh"
            action={() => startPrint(file)}
            disabled={pending !== '' || klippy !== 'ready'}
            done="Print started"
          >
            Print again
          </ActionButton>
        ) : null}
      </div>
    </section>
  );
}
