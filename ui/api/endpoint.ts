// Where the daemon is: the page's own origin, or `?api=host:port` for a UI served elsewhere (development,
// tests). The choice sticks for the browser tab, so navigating inside the app keeps it.
import { accessToken } from '../state/auth.ts';

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
  const url = `${httpBase}/server/files/${rootAndPath.split('/').map(encodeURIComponent).join('/')}`;
  // Images and the preview's fetch cannot always send a header: a logged-in user's token goes along.
  const token = accessToken.value;
  return token ? `${url}?access_token=${encodeURIComponent(token)}` : url;
}
