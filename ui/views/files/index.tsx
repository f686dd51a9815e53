// The G-code files page: folders, thumbnails, metadata, search and sort; drag-and-drop upload with progress;
// print, queue, rename and delete.
import { useComputed, useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { fileUrl } from '../../api/endpoint.ts';
import { rpc } from '../../api/session.ts';
import { bytes, dateTime, duration, filament } from '../../format.ts';
import { canOperate } from '../../state/auth.ts';
import {
  bestThumbnail,
  currentDir,
  type DirEntry,
  dismissUpload,
  type FileEntry,
  filesAvailable,
  joinPath,
  listing,
  listingError,
  listingLoading,
  loadDirectory,
  openDirectory,
  startUploads,
  uploads,
  withoutRoot,
} from '../../state/files.ts';
import { jobActive, startPrint } from '../../state/job.ts';
import { queueFiles } from '../../state/jobs.ts';
import { printerReady } from '../../state/printer.ts';
import { perform } from '../../state/toasts.ts';
import { ActionButton, Empty, Panel, ProgressBar, Spinner } from '../../widgets/common.tsx';
import { ask } from '../../widgets/confirm.tsx';
import { Icon } from '../../widgets/icon.tsx';

type SortKey = 'name' | 'modified' | 'size' | 'estimated_time';

function Breadcrumbs() {
  const parts = currentDir.value.split('/');
  return (
    <nav class="crumbs" aria-label="Folder">
      {parts.map((part, i) => {
        const target = parts.slice(0, i + 1).join('/');
        const last = i === parts.length - 1;
        return (
          <span key={target}>
            {i > 0 ? <span class="muted"> / </span> : null}
            {last ? (
              <strong aria-current="page">{i === 0 ? 'G-code files' : part}</strong>
            ) : (
              <button type="button" class="link" onClick={() => openDirectory(target)}>
                {i === 0 ? 'G-code files' : part}
              </button>
            )}
          </span>
        );
      })}
    </nav>
  );
}

function Uploads() {
  const list = uploads.value;
  if (list.length === 0) return null;
  return (
    <ul class="uploads" aria-label="Uploads">
      {list.map((u) => (
        <li key={u.id} class={u.state} data-testid="upload">
          <span class="upload-name">{u.name}</span>
          {u.state === 'uploading' ? (
            <>
              <ProgressBar value={u.total ? u.loaded / u.total : 0} label={`Uploading ${u.name}`} />
              <span class="num">{u.total ? Math.round((u.loaded / u.total) * 100) : 0}%</span>
              <button type="button" class="btn small ghost" onClick={u.abort}>
                Cancel
              </button>
            </>
          ) : u.state === 'error' ? (
            <>
              <span class="error-text">{u.error}</span>
              <button type="button" class="icon-btn" aria-label="Dismiss" onClick={() => dismissUpload(u.id)}>
                <Icon name="x" size={16} />
              </button>
            </>
          ) : (
            <span class="ok-text">
              <Icon name="check" size={16} /> Uploaded
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function FileRow({ file, dir }: { file: FileEntry; dir: string }) {
  const relative = joinPath(withoutRoot(dir), file.filename);
  const thumb = bestThumbnail(file, relative, 300);
  const rootPath = `gcodes/${relative}`;
  const rename = async () => {
    const name = await ask({
      title: 'Rename',
      input: { label: 'New name', value: file.filename },
      confirmLabel: 'Rename',
    });
    if (!name || name === file.filename) return;
    await perform(
      () => rpc.call('server.files.move', { source: rootPath, dest: `${dir}/${name}` }),
      `Renamed to ${name}`,
    );
  };
  return (
    <tr data-file={file.filename}>
      <td class="thumb-cell">
        {thumb ? (
          <img src={fileUrl(thumb)} alt="" width={48} height={48} loading="lazy" />
        ) : (
          <span class="thumb-none">
            <Icon name="file" size={22} />
          </span>
        )}
      </td>
      <th scope="row" class="file-name">
        {file.filename}
        <span class="file-sub muted">
          {[file.slicer, file.layer_height ? `${file.layer_height} mm` : '', file.filament_type]
            .filter(Boolean)
            .join(' · ')}
        </span>
      </th>
      <td class="num" data-label="Size">
        {bytes(file.size)}
      </td>
      <td data-label="Modified">{dateTime(file.modified)}</td>
      <td class="num" data-label="Time">
        {duration(file.estimated_time)}
      </td>
      <td class="num" data-label="Filament">
        {filament(file.filament_total)}
      </td>
      <td class="row-actions">
        <ActionButton
          class="small"
          variant="primary"
          icon="play"
          disabled={jobActive.value || !printerReady.value}
          action={() => startPrint(relative)}
          confirm={{
            title: `Print ${file.filename}?`,
            message: duration(file.estimated_time),
            confirmLabel: 'Print',
          }}
          done={`Printing ${file.filename}`}
          aria-label={`Print ${file.filename}`}
        >
          Print
        </ActionButton>
        <ActionButton
          class="small"
          icon="queue"
          action={() => queueFiles([relative])}
          done={`${file.filename} queued`}
          aria-label={`Queue ${file.filename}`}
        >
          Queue
        </ActionButton>
        <a
          class="btn small ghost"
          href={`/preview?file=${encodeURIComponent(relative)}`}
          aria-label={`Preview ${file.filename}`}
          title="Preview"
        >
          <Icon name="cube" />
        </a>
        <ActionButton
          class="small ghost"
          icon="pencil"
          action={rename}
          aria-label={`Rename ${file.filename}`}
          title="Rename"
        />
        <ActionButton
          class="small ghost"
          icon="trash"
          action={() => rpc.call('server.files.delete_file', { path: rootPath })}
          confirm={{ title: `Delete ${file.filename}?`, confirmLabel: 'Delete', danger: true }}
          done={`Deleted ${file.filename}`}
          aria-label={`Delete ${file.filename}`}
          title="Delete"
        />
      </td>
    </tr>
  );
}

function DirRow({ entry, dir }: { entry: DirEntry; dir: string }) {
  const target = `${dir}/${entry.dirname}`;
  return (
    <tr class="dir-row">
      <td class="thumb-cell">
        <span class="thumb-none">
          <Icon name="folder" size={22} />
        </span>
      </td>
      <th scope="row" class="file-name">
        <button type="button" class="link" onClick={() => openDirectory(target)}>
          {entry.dirname}
        </button>
      </th>
      <td class="num" data-label="Size" />
      <td data-label="Modified">{dateTime(entry.modified)}</td>
      <td />
      <td />
      <td class="row-actions">
        <ActionButton
          class="small ghost"
          icon="trash"
          action={() => rpc.call('server.files.delete_directory', { path: target, force: true })}
          confirm={{
            title: `Delete the folder ${entry.dirname}?`,
            message: 'Everything inside it is deleted too.',
            confirmLabel: 'Delete',
            danger: true,
          }}
          done={`Deleted ${entry.dirname}`}
          aria-label={`Delete folder ${entry.dirname}`}
        />
      </td>
    </tr>
  );
}

export default function FilesView() {
  const search = useSignal('');
  const sortKey = useSignal<SortKey>('modified');
  const descending = useSignal(true);
  const dragging = useSignal(false);
  const picker = useRef<HTMLInputElement>(null);
  const dropZone = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void loadDirectory();
  }, []);

  // Drops anywhere on the page upload into the folder shown.
  useEffect(() => {
    const zone = dropZone.current;
    if (!zone) return;
    const over = (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes('Files') || !canOperate.peek()) return;
      e.preventDefault();
      dragging.value = true;
    };
    const leave = (e: DragEvent) => {
      if (e.target === zone || !zone.contains(e.relatedTarget as Node | null)) dragging.value = false;
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      dragging.value = false;
      if (e.dataTransfer?.files.length && canOperate.peek()) startUploads([...e.dataTransfer.files]);
    };
    zone.addEventListener('dragover', over);
    zone.addEventListener('dragleave', leave);
    zone.addEventListener('drop', drop);
    return () => {
      zone.removeEventListener('dragover', over);
      zone.removeEventListener('dragleave', leave);
      zone.removeEventListener('drop', drop);
    };
  }, [filesAvailable.value]);

  const rows = useComputed(() => {
    const data = listing.value;
    if (!data) return { dirs: [], files: [] };
    const q = search.value.trim().toLowerCase();
    const match = (name: string) => !q || name.toLowerCase().includes(q);
    const key = sortKey.value;
    const dir = descending.value ? -1 : 1;
    const files = data.files.filter((f) => match(f.filename));
    files.sort((a, b) => {
      if (key === 'name') return dir * a.filename.localeCompare(b.filename, undefined, { numeric: true });
      const av = (a[key] as number | undefined) ?? 0;
      const bv = (b[key] as number | undefined) ?? 0;
      return dir * (av - bv);
    });
    const dirs = data.dirs.filter((d) => match(d.dirname)).sort((a, b) => a.dirname.localeCompare(b.dirname));
    return { dirs, files };
  });

  if (!filesAvailable.value) {
    return (
      <Panel title="Files" icon="folder">
        <Empty>This daemon has no file manager yet (server.files.* are missing).</Empty>
      </Panel>
    );
  }

  const dir = currentDir.value;
  const data = listing.value;

  const newFolder = async () => {
    const name = await ask({
      title: 'New folder',
      input: { label: 'Name', value: '' },
      confirmLabel: 'Create',
    });
    if (!name) return;
    await perform(
      () => rpc.call('server.files.post_directory', { path: `${dir}/${name}` }),
      `Created ${name}`,
    );
  };

  return (
    <div ref={dropZone} class={`files-view ${dragging.value ? 'dragging' : ''}`}>
      <Panel
        title="Files"
        icon="folder"
        id="files"
        actions={
          <>
            {canOperate.value ? (
              <>
                <input
                  ref={picker}
                  type="file"
                  multiple
                  accept=".gcode,.gco,.g,.gc,.bgcode"
                  class="sr-only"
                  aria-label="Choose G-code files to upload"
                  data-testid="upload-input"
                  onChange={(e) => {
                    const input = e.target as HTMLInputElement;
                    if (input.files?.length) startUploads([...input.files]);
                    input.value = '';
                  }}
                />
                <button type="button" class="btn small primary" onClick={() => picker.current?.click()}>
                  <Icon name="upload" /> Upload
                </button>
              </>
            ) : null}
            <ActionButton
              class="small"
              icon="folderPlus"
              action={newFolder}
              aria-label="New folder"
              title="New folder"
            />
            <button
              type="button"
              class="btn small ghost"
              aria-label="Refresh"
              title="Refresh"
              onClick={() => void loadDirectory()}
            >
              {listingLoading.value ? <Spinner /> : <Icon name="refresh" />}
            </button>
          </>
        }
      >
        <div class="files-toolbar">
          <Breadcrumbs />
          <label class="search">
            <Icon name="search" />
            <input
              type="search"
              placeholder="Search"
              aria-label="Search files"
              value={search.value}
              onInput={(e) => (search.value = (e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field compact inline">
            <span>Sort</span>
            <select
              value={sortKey.value}
              onChange={(e) => (sortKey.value = (e.target as HTMLSelectElement).value as SortKey)}
            >
              <option value="modified">Modified</option>
              <option value="name">Name</option>
              <option value="size">Size</option>
              <option value="estimated_time">Print time</option>
            </select>
          </label>
          <button
            type="button"
            class="btn small ghost"
            aria-label={
              descending.value ? 'Descending; switch to ascending' : 'Ascending; switch to descending'
            }
            onClick={() => (descending.value = !descending.value)}
          >
            <Icon name={descending.value ? 'down' : 'up'} />
          </button>
        </div>
        <Uploads />
        {canOperate.value ? (
          <p class="drop-hint muted">Drop G-code files anywhere on this page to upload them here.</p>
        ) : null}
        {listingError.value && !data ? <p class="error-text">{listingError.value}</p> : null}
        {data ? (
          rows.value.dirs.length + rows.value.files.length === 0 && dir === 'gcodes' ? null : (
            <table class="files">
              <thead>
                <tr>
                  <th scope="col">
                    <span class="sr-only">Thumbnail</span>
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                  <th scope="col">Modified</th>
                  <th scope="col" class="num">
                    Time
                  </th>
                  <th scope="col" class="num">
                    Filament
                  </th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {dir !== 'gcodes' ? (
                  <tr class="dir-row">
                    <td class="thumb-cell">
                      <span class="thumb-none">
                        <Icon name="up" size={22} />
                      </span>
                    </td>
                    <th scope="row" class="file-name" colSpan={6}>
                      <button
                        type="button"
                        class="link"
                        onClick={() => openDirectory(dir.slice(0, dir.lastIndexOf('/')))}
                      >
                        Up one folder
                      </button>
                    </th>
                  </tr>
                ) : null}
                {rows.value.dirs.map((d) => (
                  <DirRow key={`d:${d.dirname}`} entry={d} dir={dir} />
                ))}
                {rows.value.files.map((f) => (
                  <FileRow key={`f:${f.filename}`} file={f} dir={dir} />
                ))}
              </tbody>
            </table>
          )
        ) : null}
        {data && rows.value.dirs.length + rows.value.files.length === 0 ? (
          <Empty>{search.value ? 'Nothing matches the search.' : 'No files here yet. Upload one.'}</Empty>
        ) : null}
        {data || listingError.value ? null : (
          <p class="muted">
            <Spinner /> Loading…
          </p>
        )}
        {data?.disk_usage ? (
          <p class="muted disk">
            {bytes(data.disk_usage.free)} free of {bytes(data.disk_usage.total)}
          </p>
        ) : null}
      </Panel>
    </div>
  );
}
