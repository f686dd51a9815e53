// Moonraker's server.files.* endpoints and the file transfer routes, plus Brim's layer index.
import { Type } from '@sinclair/typebox';
import { HttpReply } from '../../api/registry.ts';
import type { Host } from '../../core/component.ts';
import { errors } from '../../core/errors.ts';
import type { FileManagerService } from './manager.ts';

const filename = Type.Object({
  filename: Type.String({ minLength: 1, description: 'Relative to the gcodes root' }),
});
const sourceDest = Type.Object({
  source: Type.String({ minLength: 1, description: 'Root-prefixed path, e.g. gcodes/a.gcode' }),
  dest: Type.String({ minLength: 1, description: 'Root-prefixed path' }),
});

export function registerFileEndpoints(host: Host, files: FileManagerService): void {
  const api = host.api;

  api.register({
    path: '/server/files/roots',
    verbs: ['GET'],
    role: 'viewer',
    description: 'Registered roots with their folders and permissions',
    handler: () => files.listRoots(),
  });

  api.register({
    path: '/server/files/list',
    verbs: ['GET'],
    role: 'viewer',
    params: Type.Object({ root: Type.String({ default: 'gcodes' }) }),
    description: 'Every file under a root (gcodes: G-code files only)',
    handler: ({ root }) => files.list(root),
  });

  // One path, three verbs, three roles: registered apart, with Moonraker's method names.
  api.register({
    path: '/server/files/directory',
    verbs: ['GET'],
    role: 'viewer',
    rpcMethod: 'server.files.get_directory',
    params: Type.Object({
      path: Type.String({ minLength: 1, default: 'gcodes' }),
      extended: Type.Boolean({ default: false }),
    }),
    description: 'Folders and files in one folder, with disk usage; extended adds G-code metadata',
    handler: ({ path, extended }) => files.getDirectory(path, extended),
  });

  api.register({
    path: '/server/files/directory',
    verbs: ['POST'],
    role: 'operator',
    rpcMethod: 'server.files.post_directory',
    params: Type.Object({ path: Type.String({ minLength: 1 }) }),
    description: 'Creates a folder (its parent must exist)',
    handler: ({ path }) => files.createDirectory(path),
  });

  api.register({
    path: '/server/files/directory',
    verbs: ['DELETE'],
    role: 'operator',
    rpcMethod: 'server.files.delete_directory',
    params: Type.Object({ path: Type.String({ minLength: 1 }), force: Type.Boolean({ default: false }) }),
    description: 'Deletes a folder; force removes its contents too',
    handler: ({ path, force }) => files.deleteDirectory(path, force),
  });

  api.register({
    path: '/server/files/metadata',
    verbs: ['GET'],
    role: 'viewer',
    params: filename,
    description: "A G-code file's slicer metadata and thumbnails (analysed first when needed)",
    handler: ({ filename }) => files.metadata(filename),
  });

  api.register({
    path: '/server/files/metascan',
    verbs: ['POST'],
    role: 'viewer',
    params: filename,
    description: 'Analyses a G-code file again, whatever is stored',
    handler: ({ filename }) => files.metascan(filename),
  });

  api.register({
    path: '/server/files/thumbnails',
    verbs: ['GET'],
    role: 'viewer',
    params: filename,
    description: "A G-code file's thumbnails, paths relative to the gcodes root",
    handler: ({ filename }) => files.thumbnails(filename),
  });

  api.register({
    path: '/server/files/layers',
    verbs: ['GET'],
    role: 'viewer',
    params: filename,
    description: "Brim: a G-code file's layers with their byte ranges, and its objects, for previews",
    handler: async ({ filename }) => {
      const stored = await files.getMetadata(filename);
      if (!stored) throw errors.notFound(`Metadata not available for <${filename}>`);
      return {
        filename: stored.path,
        size: stored.size,
        modified: stored.modified,
        layer_count: stored.layers.length,
        layers: stored.layers,
        objects: stored.objects,
        ...(stored.analysis?.bbox ? { bbox: stored.analysis.bbox } : {}),
      };
    },
  });

  api.register({
    path: '/server/files/move',
    verbs: ['POST'],
    role: 'operator',
    params: sourceDest,
    description: 'Moves or renames a file or folder',
    handler: ({ source, dest }) => files.move(source, dest),
  });

  api.register({
    path: '/server/files/copy',
    verbs: ['POST'],
    role: 'operator',
    params: sourceDest,
    description: 'Copies a file or folder',
    handler: ({ source, dest }) => files.copy(source, dest),
  });

  api.register({
    path: '/server/files/zip',
    verbs: ['POST'],
    role: 'operator',
    params: Type.Object({
      items: Type.Array(Type.String({ minLength: 1 }), {
        description: 'Root-prefixed files or folders to put in the archive',
      }),
      dest: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'Root-prefixed archive path; default config/collection-{time}.zip',
        }),
      ),
      store_only: Type.Optional(Type.Boolean({ description: 'Store without compressing' })),
    }),
    description: 'Writes a ZIP archive of files and folders',
    handler: ({ items, dest, store_only }) => files.zip(items, dest, store_only ?? false),
  });

  // Moonraker offers file deletion over HTTP as DELETE /server/files/{root}/{path} only.
  api.register({
    path: '/server/files/delete_file',
    verbs: ['DELETE'],
    role: 'operator',
    transports: ['websocket', 'mqtt'],
    rpcMethod: 'server.files.delete_file',
    params: Type.Object({ path: Type.String({ minLength: 1, description: 'Root-prefixed path' }) }),
    description: 'Deletes a file',
    handler: ({ path }) => files.deleteFile(path),
  });

  api.register({
    path: '/server/files/upload',
    verbs: ['POST'],
    role: 'operator',
    transports: ['http'],
    unwrapped: true,
    multipart: true,
    description: 'Multipart upload: file, root (gcodes), path, checksum (sha256), print ("true")',
    handler: async (_args, context) => {
      if (!context.form) throw errors.badRequest('An upload must be a multipart/form-data body');
      const { location, ...body } = await files.upload(context.form, { origin: context.origin ?? '' });
      return new HttpReply(201, body, { location });
    },
  });

  const rootAndPath = Type.Object({ root: Type.String(), '*': Type.String() });
  api.register({
    path: '/server/files/:root/*',
    verbs: ['GET'],
    role: 'viewer',
    transports: ['http'],
    params: rootAndPath,
    description:
      'Downloads a file (or one byte range of it: Range: bytes=start-end); thumbnails are fetched this way',
    handler: ({ root, '*': path }, context) => files.download(root, path, context.range),
  });

  api.register({
    path: '/server/files/:root/*',
    verbs: ['DELETE'],
    role: 'operator',
    transports: ['http'],
    params: rootAndPath,
    description: 'Deletes a file',
    handler: ({ root, '*': path }) => files.deleteFile(`${root}/${path}`),
  });
}
