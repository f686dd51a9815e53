// Where the daemon is: the page's own origin, or `?api=host:port` for a UI served elsewhere (development,
// tests). The choice sticks for the browser tab, so navigating inside the app keeps it.

const STORAGE_KEY = 'brim.api';

function chosenHost(): string {
  const fromQuery = new URLSearchParams(location.search).get('api');
  if (fromQuery) {
    sessionStorage.setItem(STORAGE_KEY, fromQuery);
    return fromQuery;
  }
  return sessionStorage.getItem(STORAGE_KEY) ?? location.host;
}

const host = chosenHost();
const secure = location.protocol === 'https:';

export const apiHost = host;
export const websocketUrl = `${secure ? 'wss' : 'ws'}://${host}/websocket`;
export const httpBase = host === location.host ? '' : `${location.protocol}//${host}`;

/** `gcodes/dir/a b.gcode` → an URL that downloads it (thumbnails, the preview's G-code). */
export function fileUrl(rootAndPath: string): string {
  return `${httpBase}/server/files/${rootAndPath.split('/').map(encodeURIComponent).join('/')}`;
}
