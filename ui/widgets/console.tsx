// The console: output with errors in red and the periodic noise hidden, input with history (Up/Down)
// and completion (Tab) from printer.gcode.help.
import { useSignal } from '@preact/signals';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { connected } from '../api/session.ts';
import { canOperate } from '../state/auth.ts';
import {
  clearConsole,
  commandHistory,
  complete,
  hideNoise,
  sendCommand,
  setHideNoise,
  visibleLines,
} from '../state/console.ts';
import { Panel, Spinner } from './common.tsx';

function time(unixS: number): string {
  return new Date(unixS * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function ConsolePanel({ compact = false }: { compact?: boolean }) {
  const input = useSignal('');
  const sending = useSignal(0);
  const historyIndex = useSignal<number | null>(null);
  const selected = useSignal(0);
  const output = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const field = useRef<HTMLInputElement>(null);
  const shown = compact ? visibleLines.value.slice(-60) : visibleLines.value;
  const suggestions = complete(input.value);

  useLayoutEffect(() => {
    const el = output.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown.length, shown[shown.length - 1]?.id]);

  useEffect(() => {
    selected.value = 0;
  }, [input.value]);

  const send = async () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    historyIndex.value = null;
    stick.current = true;
    sending.value++;
    try {
      await sendCommand(text);
    } catch {
      // Shown in the output in red (sendCommand puts it there).
    } finally {
      sending.value--;
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const history = commandHistory.value;
    if (e.key === 'Tab' && suggestions.length > 0) {
      e.preventDefault();
      input.value = `${suggestions[selected.value]?.name ?? suggestions[0]!.name} `;
    } else if (e.key === 'ArrowUp' && suggestions.length > 0 && historyIndex.value === null && input.value) {
      e.preventDefault();
      selected.value = (selected.value + suggestions.length - 1) % suggestions.length;
    } else if (
      e.key === 'ArrowDown' &&
      suggestions.length > 0 &&
      historyIndex.value === null &&
      input.value
    ) {
      e.preventDefault();
      selected.value = (selected.value + 1) % suggestions.length;
    } else if (e.key === 'ArrowUp' && history.length > 0) {
      e.preventDefault();
      const i = historyIndex.value === null ? history.length - 1 : Math.max(0, historyIndex.value - 1);
      historyIndex.value = i;
      input.value = history[i]!;
    } else if (e.key === 'ArrowDown' && historyIndex.value !== null) {
      e.preventDefault();
      const i = historyIndex.value + 1;
      if (i >= history.length) {
        historyIndex.value = null;
        input.value = '';
      } else {
        historyIndex.value = i;
        input.value = history[i]!;
      }
    } else if (e.key === 'Escape') {
      input.value = '';
      historyIndex.value = null;
    }
  };

  return (
    <Panel
      title="Console"
      icon="console"
      id={compact ? 'mini-console' : 'console'}
      class={compact ? 'console compact' : 'console'}
      actions={
        <>
          <label class="check">
            <input
              type="checkbox"
              checked={hideNoise.value}
              onChange={(e) => setHideNoise((e.target as HTMLInputElement).checked)}
            />
            Hide temperatures
          </label>
          {compact ? null : (
            <button type="button" class="btn small ghost" onClick={clearConsole}>
              Clear
            </button>
          )}
        </>
      }
    >
      <div
        ref={output}
        class="console-output"
        role="log"
        aria-label="Console output"
        data-testid="console-output"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.map((line) => (
          <div key={line.id} class={`line ${line.kind}`}>
            <time>{time(line.time)}</time>
            <span>{line.text}</span>
          </div>
        ))}
      </div>
      {canOperate.value ? (
        <form
          class="console-input"
          onSubmit={(e) => {
            e.preventDefault();
            void send();
          }}
        >
          <div class="combo">
            <input
              ref={field}
              type="text"
              autoComplete="off"
              autoCapitalize="characters"
              spellcheck={false}
              placeholder={connected.value ? 'G-code or command, Tab completes' : 'Not connected'}
              role="combobox"
              aria-label="G-code command"
              aria-autocomplete="list"
              aria-controls="console-suggestions"
              aria-expanded={suggestions.length > 0}
              value={input.value}
              onInput={(e) => {
                input.value = (e.target as HTMLInputElement).value;
                historyIndex.value = null;
              }}
              onKeyDown={onKeyDown}
              disabled={!connected.value}
            />
            {suggestions.length > 0 ? (
              <div id="console-suggestions" class="suggestions" role="listbox" aria-label="Completions">
                {suggestions.map((s, i) => (
                  <div
                    key={s.name}
                    role="option"
                    tabIndex={-1}
                    aria-selected={i === selected.value}
                    class={i === selected.value ? 'on' : ''}
                    onMouseDown={(e) => {
                      e.preventDefault();
                      input.value = `${s.name} `;
                      field.current?.focus();
                    }}
                  >
                    <strong>{s.name}</strong> <span class="muted">{s.help}</span>
                  </div>
                ))}
              </div>
            ) : null}
          </div>
          <button type="submit" class="btn primary" disabled={!connected.value || !input.value.trim()}>
            {sending.value > 0 ? <Spinner /> : null}
            Send
          </button>
        </form>
      ) : null}
    </Panel>
  );
}
