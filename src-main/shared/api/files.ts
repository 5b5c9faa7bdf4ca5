// Files the lab may read. The renderer never hands the lab a path it trusts: it holds opaque
// grants for files the user chose — in a native dialog, by uploading (picking or dropping) them,
// inside a folder the user allowed when starting the lab, or on the command line.
import { z } from 'zod';

/** An unguessable handle for one chosen file; valid until the lab stops or the grant is released. */
export const FileGrantId = z
  .string()
  .regex(/^grant_[A-Za-z0-9_-]{24}$/, 'expected a file grant id (grant_…) from choosing a file, not a path');
export type FileGrantId = z.infer<typeof FileGrantId>;

/** A folder the user allowed at launch (`--allow-dir`), numbered in the order given. */
export const FolderId = z.string().regex(/^folder_[0-9]{1,4}$/, 'expected a folder id (folder_N)');

/** The part a file plays in an import; the lab guesses it, the user decides. */
export const FileRole = z.enum(['matrix', 'sig_info', 'pert_info', 'gene_info', 'sample_metadata']);
export type FileRole = z.infer<typeof FileRole>;

export const FileFormat = z.enum(['gctx', 'gct', 'h5ad', 'csv', 'tsv', 'unknown']);
export type FileFormat = z.infer<typeof FileFormat>;

export const FileGrantSource = z.enum(['dialog', 'upload', 'folder', 'cli']);

export const FileGrant = z.object({
  grantId: FileGrantId,
  /** The file's own name, for display. */
  name: z.string(),
  size: z.number().int().nonnegative(),
  source: FileGrantSource,
  /** Read from the content, not the name; null when not examined (files named on the command line). */
  format: FileFormat.nullable(),
  suggestedRole: FileRole.nullable(),
  /** Why that guess: what the lab saw in the file. */
  reason: z.string(),
});
export type FileGrant = z.infer<typeof FileGrant>;

export const AllowedFolder = z.object({ folderId: FolderId, name: z.string(), path: z.string() });
export type AllowedFolder = z.infer<typeof AllowedFolder>;

export const FileSources = z.object({
  folders: z.array(AllowedFolder),
  /** Uploads into the lab's inbox (browser mode and dropped files), or null when this lab takes none. */
  upload: z.object({ maxBytes: z.number().int().positive() }).nullable(),
});
export type FileSources = z.infer<typeof FileSources>;

/** A path inside an allowed folder, relative, "/"-separated; "" is the folder itself. */
export const FolderPath = z.string().max(4096);

export const FolderEntry = z.object({
  name: z.string(),
  kind: z.enum(['file', 'directory']),
  size: z.number().int().nonnegative().nullable(),
});
export type FolderEntry = z.infer<typeof FolderEntry>;

export const FolderListing = z.object({
  folderId: FolderId,
  path: z.string(),
  entries: z.array(FolderEntry),
  /** Entries left out: links leading outside the folder, or beyond the listing limit. */
  omitted: z.number().int().nonnegative(),
});
export type FolderListing = z.infer<typeof FolderListing>;

/** The reply of the browser-mode upload endpoint (PUT /api/files/upload). */
export const UploadReply = z.union([
  z.object({ ok: z.literal(true), result: FileGrant }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export const UPLOAD_PATH = '/api/files/upload';

/** Largest chunk one desktop upload message may carry (files dropped on the Electron window). */
export const MAX_UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;

export const UploadId = z.string().regex(/^upload_[A-Za-z0-9_-]{16}$/, 'expected an upload id (upload_…)');

/** Messages on the Electron files channel: the native open dialog, and uploads of dropped files. */
export const FilesIpcRequest = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('open-dialog') }),
  z.strictObject({ op: z.literal('upload-begin'), name: z.string().min(1).max(1000), size: z.number().int().nonnegative() }),
  z.strictObject({
    op: z.literal('upload-chunk'),
    uploadId: UploadId,
    data: z.instanceof(Uint8Array).refine((d) => d.byteLength <= MAX_UPLOAD_CHUNK_BYTES, 'chunk too large'),
  }),
  z.strictObject({ op: z.literal('upload-finish'), uploadId: UploadId }),
  z.strictObject({ op: z.literal('upload-abort'), uploadId: UploadId }),
]);
export type FilesIpcRequest = z.infer<typeof FilesIpcRequest>;

/** What each files-channel operation answers with, checked on both sides. */
export const FilesIpcResults = {
  'open-dialog': z.array(FileGrant),
  'upload-begin': z.object({ uploadId: UploadId }),
  'upload-chunk': z.object({ received: z.number().int().nonnegative() }),
  'upload-finish': FileGrant,
  'upload-abort': z.object({ aborted: z.boolean() }),
} as const satisfies Record<FilesIpcRequest['op'], z.ZodType>;

export const FilesIpcReply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type FilesIpcReply = z.infer<typeof FilesIpcReply>;
