// The config file editor (admins): the daemon's own TOML file, checked by the daemon's start-up validator;
// a refusal marks each problem beside its line and nothing is written. A saved file needs a restart.
import { type Signal, useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { onConnected, rpc } from '../../api/session.ts';
import {
  type ConfigFileState,
  type ConfigProblem,
  configFileSaves,
  loadConfigFile,
  saveConfigFile,
} from '../../state/admin.ts';
import { jobActive } from '../../state/job.ts';
import { errorText, toast } from '../../state/toasts.ts';
import { ActionButton, Panel, Spinner } from '../../widgets/common.tsx';
import { confirm } from '../../widgets/confirm.tsx';

/** One text line's height and the editor's top padding, in px: the marks are placed by them. */
const LINE_PX = 20;
const PAD_PX = 8;

function baseName(path: string): string {
  return path.split('/').pop() ?? path;
}

/** "brim.toml [server]: unknown key …" reads as "[server]: unknown key …" beside the line it is on. */
function shortMessage(message: string, filename: string): string {
  const name = baseName(filename).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`^(?:\\S*/)?${name}(?::\\d+:\\d+)?:?\\s*`), '');
}

/** Offset of the first character of a line (from 1) in the text. */
function lineStart(text: string, line: number): number {
  let offset = 0;
  for (let i = 1; i < line; i++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) return text.length;
    offset = next + 1;
  }
  return offset;
}

function CodeEditor({
  text,
  problems,
  filename,
  editor,
}: {
  text: Signal<string>;
  problems: ConfigProblem[];
  filename: string;
  editor: { current: HTMLTextAreaElement | null };
}) {
  const scroll = useSignal({ top: 0, left: 0 });
  const lineCount = text.value.split('\n').length;
  const byLine = new Map<number, string[]>();
  for (const p of problems) {
    if (p.line === undefined) continue;
    byLine.set(p.line, [...(byLine.get(p.line) ?? []), shortMessage(p.message, filename)]);
  }
  const rowTop = (line: number) => PAD_PX + (line - 1) * LINE_PX;
  return (
    <div class="code-editor">
      <div class="code-gutter" aria-hidden="true">
        <div
          style={{ transform: `translateY(${-scroll.value.top}px)`, paddingTop: `${PAD_PX}px` }}
          class="code-gutter-lines"
        >
          {Array.from({ length: lineCount }, (_, i) => (
            <div key={i} class={byLine.has(i + 1) ? 'bad' : ''} style={{ height: `${LINE_PX}px` }}>
              {i + 1}
            </div>
          ))}
        </div>
      </div>
      <div class="code-area">
        <div
          class="code-layer"
          aria-hidden="true"
          style={{ transform: `translateY(${-scroll.value.top}px)` }}
        >
          {[...byLine.keys()].map((line) => (
            <div key={line} class="code-mark" style={{ top: `${rowTop(line)}px`, height: `${LINE_PX}px` }} />
          ))}
        </div>
        <textarea
          ref={editor}
          aria-label={`Contents of ${baseName(filename)}`}
          data-testid="config-text"
          spellcheck={false}
          autocapitalize="off"
          autocomplete="off"
          wrap="off"
          value={text.value}
          style={{ lineHeight: `${LINE_PX}px`, padding: `${PAD_PX}px 10px` }}
          onInput={(e) => (text.value = e.currentTarget.value)}
          onScroll={(e) => {
            scroll.value = { top: e.currentTarget.scrollTop, left: e.currentTarget.scrollLeft };
          }}
        />
        <div class="code-layer notes" style={{ transform: `translateY(${-scroll.value.top}px)` }}>
          {[...byLine.entries()].map(([line, messages]) => (
            <div
              key={line}
              class="code-note"
              role="note"
              data-testid="config-problem-inline"
              data-line={line}
              style={{ top: `${rowTop(line)}px`, height: `${LINE_PX}px`, lineHeight: `${LINE_PX}px` }}
              title={messages.join('\n')}
            >
              {messages.join(' · ')}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}

function RestartNotice({ state }: { state: ConfigFileState }) {
  if (!state.restart_pending) return null;
  const printing = jobActive.value;
  return (
    <div class="notice" role="status" data-testid="restart-notice">
      <span>
        {baseName(state.filename)} on disk is not what Brim is running: restart Brim to use it.
        {state.can_restart ? '' : ' This daemon cannot restart itself; restart its service instead.'}
      </span>
      {state.can_restart ? (
        <ActionButton
          class="small"
          variant="primary"
          confirm={{
            title: 'Restart Brim?',
            message: printing
              ? 'A print is running: restarting stops it. Every client reconnects.'
              : 'Every component stops and starts again with the new file; clients reconnect.',
            confirmLabel: 'Restart',
            danger: printing,
          }}
          action={() => rpc.call('server.restart')}
          done="Brim is restarting"
        >
          Restart Brim
        </ActionButton>
      ) : null}
    </div>
  );
}

export function ConfigFilePanel() {
  const state = useSignal<ConfigFileState | null>(null);
  const loadError = useSignal('');
  const text = useSignal('');
  /** The text as last loaded or saved, to tell an edit from the file. */
  const pristine = useSignal('');
  const problems = useSignal<ConfigProblem[]>([]);
  const checkedText = useSignal<string | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);

  const load = async (force: boolean) => {
    try {
      const next = await loadConfigFile();
      state.value = next;
      loadError.value = '';
      // A reconnect must not throw away what the admin is typing.
      if (force || text.peek() === pristine.peek()) {
        const initial = next.exists ? next.text : (next.template ?? '');
        text.value = initial;
        pristine.value = initial;
        problems.value = [];
        checkedText.value = null;
      }
    } catch (error) {
      loadError.value = errorText(error);
    }
  };
  useEffect(() => onConnected(() => void load(false)), []);
  // Another panel (MQTT) saved the file: show what is on disk unless the admin is mid-edit.
  useEffect(() => {
    if (configFileSaves.value > 0) void load(false);
  }, [configFileSaves.value]);

  const goToLine = (line: number) => {
    const area = editor.current;
    if (!area) return;
    const start = lineStart(area.value, line);
    const end = area.value.indexOf('\n', start);
    area.focus();
    area.setSelectionRange(start, end === -1 ? area.value.length : end);
    area.scrollTop = Math.max(0, (line - 1) * LINE_PX - area.clientHeight / 3);
  };

  const check = async (dryRun: boolean) => {
    const submitted = text.value;
    const result = await saveConfigFile(submitted, dryRun);
    checkedText.value = submitted;
    if (!result.saved) {
      problems.value = result.problems;
      const first = result.problems.find((p) => p.line !== undefined);
      if (first?.line) goToLine(first.line);
      const count = result.problems.length;
      throw new Error(
        `${dryRun ? '' : 'Not saved: '}${count} problem${count === 1 ? '' : 's'} in the file; see the marked lines`,
      );
    }
    problems.value = [];
    if (dryRun) {
      toast('No problems found', 'success');
      return;
    }
    pristine.value = submitted;
    toast(
      result.backup
        ? `Saved ${baseName(result.filename)}; the previous one is ${baseName(result.backup)}`
        : `Created ${result.filename}`,
      'success',
    );
    await load(false);
  };

  const current = state.value;
  if (!current) {
    return (
      <Panel title="Config file" icon="file" id="config-file">
        {loadError.value ? (
          <p class="error-text" role="alert">
            {loadError.value}
          </p>
        ) : (
          <p class="muted">
            <Spinner /> Loading the config file…
          </p>
        )}
      </Panel>
    );
  }
  const modified = text.value !== pristine.value;
  const stale = checkedText.value !== null && checkedText.value !== text.value;
  return (
    <Panel title="Config file" icon="file" id="config-file">
      <p class="muted file-path">
        <code>{current.filename}</code>
        {current.in_use
          ? ' — Brim started with this file. It is checked as start-up would check it before it is saved; the previous file is kept as .bak.'
          : null}
      </p>
      {current.in_use ? null : current.exists ? (
        <p class="notice" data-testid="config-absent">
          Brim started without a config file, on built-in defaults. This file has been created since.
        </p>
      ) : (
        <p class="notice" data-testid="config-absent">
          Brim runs on built-in defaults: there is no config file. Below is a starting file with every key
          commented out; uncomment what you want to change and create it.
        </p>
      )}
      <RestartNotice state={current} />
      <CodeEditor text={text} problems={problems.value} filename={current.filename} editor={editor} />
      {problems.value.length > 0 ? (
        <div class="problems" role="alert">
          <p>
            <strong>
              {problems.value.length} problem{problems.value.length === 1 ? '' : 's'}
            </strong>
            {stale ? <span class="muted"> (found before your last edit)</span> : null}
          </p>
          <ul data-testid="config-problems">
            {problems.value.map((p, i) => (
              <li key={i}>
                {p.line !== undefined ? (
                  <button type="button" class="link" onClick={() => goToLine(p.line ?? 1)}>
                    Line {p.line}
                    {p.column !== undefined ? `, column ${p.column}` : ''}
                  </button>
                ) : null}
                {p.line !== undefined ? ': ' : ''}
                {shortMessage(p.message, current.filename)}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div class="row">
        <ActionButton variant="primary" action={() => check(false)} disabled={current.exists && !modified}>
          {current.exists ? 'Save' : 'Create file'}
        </ActionButton>
        <ActionButton action={() => check(true)}>Check</ActionButton>
        <button
          type="button"
          class="btn ghost"
          disabled={!modified}
          onClick={async () => {
            if (await confirm({ title: 'Throw away your changes?', confirmLabel: 'Revert', danger: true }))
              await load(true);
          }}
        >
          Revert
        </button>
      </div>
    </Panel>
  );
}
