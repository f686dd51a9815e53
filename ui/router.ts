// A small history-API router: the path is a signal, same-origin link clicks are intercepted, and the
// server answers every page path with index.html (SPA fallback in server/api/static-ui.ts).
import { signal } from '@preact/signals';

export const path = signal(location.pathname);

/** `to` is a path with an optional query (`/preview?file=a.gcode`). */
export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = location.pathname;
  window.scrollTo(0, 0);
}

export function startRouter(): void {
  addEventListener('popstate', () => {
    path.value = location.pathname;
  });
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (
      url.origin !== location.origin ||
      !url.pathname.startsWith('/') ||
      url.pathname.startsWith('/server/')
    )
      return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}
