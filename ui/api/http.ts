// The HTTP side of the API the websocket cannot carry: multipart uploads, with progress and the server's
// own reason when it refuses one.
import { accessToken } from '../state/auth.ts';
import { httpBase } from './endpoint.ts';

export interface UploadReply {
  item: { root: string; path: string; size: number; modified: number };
  print_started: boolean;
  print_queued: boolean;
  action: string;
}

export interface UploadHandle {
  done: Promise<UploadReply>;
  abort(): void;
}

/** Moonraker's error body is `{error: {code, message}}`; anything else is described by its status. */
export function httpErrorMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string };
    const error = parsed.error;
    if (typeof error === 'string') return error;
    if (error && typeof error.message === 'string') return error.message;
  } catch {
    // Not JSON: a proxy's page, say.
  }
  if (status === 413) return 'The file is larger than the server accepts';
  if (status === 0) return 'The upload did not reach Brim (connection lost)';
  return `Upload failed: HTTP ${status}`;
}

/** Checksums are sent when the browser can compute them cheaply (crypto.subtle needs a secure context). */
const CHECKSUM_LIMIT_BYTES = 64 * 1024 * 1024;

async function sha256(file: File): Promise<string | null> {
  if (!globalThis.crypto?.subtle || file.size > CHECKSUM_LIMIT_BYTES) return null;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function uploadFile(
  file: File,
  target: { root: string; path: string; print?: boolean },
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  let aborted = false;
  const done = (async () => {
    const checksum = await sha256(file).catch(() => null);
    if (aborted) throw new Error('Upload cancelled');
    const form = new FormData();
    form.append('root', target.root);
    if (target.path) form.append('path', target.path);
    if (target.print) form.append('print', 'true');
    if (checksum) form.append('checksum', checksum);
    form.append('file', file, file.name);
    return new Promise<UploadReply>((resolve, reject) => {
      xhr.open('POST', `${httpBase}/server/files/upload`);
      const token = accessToken.peek();
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (event) =>
        onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as UploadReply);
          } catch {
            reject(new Error('Brim answered the upload with something that is not JSON'));
          }
        } else {
          reject(new Error(httpErrorMessage(xhr.status, xhr.responseText)));
        }
      };
      xhr.onerror = () => reject(new Error(httpErrorMessage(0, '')));
      xhr.onabort = () => reject(new Error('Upload cancelled'));
      xhr.send(form);
    });
  })();
  return {
    done,
    abort: () => {
      aborted = true;
      xhr.abort();
    },
  };
}
