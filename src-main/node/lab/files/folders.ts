// Folders the user allowed at launch (`cellshift serve --allow-dir DIR`): inside them the renderer
// may browse and pick files. Every path it names is relative to one of them and is checked here:
// no absolute paths, no "..", and no symbolic link that leads outside the folder.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, sep, win32 } from 'node:path';
import { LabError } from '../../../shared/api/errors.js';
import type { AllowedFolder, FolderEntry, FolderListing } from '../../../shared/api/files.js';

/** Why a path was refused; carried in LabError.details.reason so callers and tests can tell. */
export type PathRefusal =
  | 'unknown_folder'
  | 'invalid_path'
  | 'absolute_path'
  | 'path_traversal'
  | 'symlink_escape'
  | 'missing'
  | 'not_a_file'
  | 'not_a_directory';

export function refused(reason: PathRefusal, message: string): LabError {
  const code =
    reason === 'unknown_folder' || reason === 'missing' ? 'not_found' : reason === 'invalid_path' ? 'invalid_params' : 'unauthorized';
  return new LabError(code, message, { reason });
}

/** Listings stop here: a folder of a million files is not browsed by hand. */
export const MAX_LISTING_ENTRIES = 5000;

interface Folder {
  id: string;
  /** Real path (symbolic links resolved) of the folder as allowed at launch. */
  root: string;
  given: string;
}

export class AllowedFolders {
  readonly #folders: Folder[];

  private constructor(folders: Folder[]) {
    this.#folders = folders;
  }

  /** Checks each folder the user named exists and is a directory; the first bad one is reported. */
  static async open(paths: readonly string[]): Promise<AllowedFolders> {
    const folders: Folder[] = [];
    for (const given of paths) {
      let root: string;
      try {
        root = await realpath(given);
      } catch {
        throw new LabError('invalid_params', `--allow-dir ${given}: no such folder`);
      }
      if (!(await stat(root)).isDirectory()) throw new LabError('invalid_params', `--allow-dir ${given}: not a folder`);
      if (folders.some((f) => f.root === root)) continue;
      folders.push({ id: `folder_${folders.length + 1}`, root, given });
    }
    return new AllowedFolders(folders);
  }

  static none(): AllowedFolders {
    return new AllowedFolders([]);
  }

  list(): AllowedFolder[] {
    return this.#folders.map((f) => ({ folderId: f.id, name: basename(f.root) || f.root, path: f.root }));
  }

  /** The real path of `path` inside the folder, after every check; throws a LabError naming the refusal. */
  async resolve(folderId: string, path: string, want: 'file' | 'directory'): Promise<{ real: string; relative: string }> {
    const folder = this.#folders.find((f) => f.id === folderId);
    if (!folder) throw refused('unknown_folder', `No allowed folder ${folderId}: folders are allowed when the lab starts (--allow-dir).`);
    const segments = checkRelative(path);
    const candidate = join(folder.root, ...segments);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw refused('missing', `"${segments.join('/')}" does not exist in ${folder.given}.`);
    }
    const inside = relative(folder.root, real);
    if (!isInside(inside)) {
      throw refused(
        'symlink_escape',
        `"${segments.join('/')}" leads outside the allowed folder ${folder.given} (a symbolic link); it cannot be opened.`,
      );
    }
    const info = await stat(real);
    if (want === 'file' && !info.isFile()) throw refused('not_a_file', `"${segments.join('/')}" is not a file.`);
    if (want === 'directory' && !info.isDirectory()) throw refused('not_a_directory', `"${segments.join('/')}" is not a folder.`);
    return { real, relative: inside.split(sep).join('/') };
  }

  async listing(folderId: string, path: string): Promise<FolderListing> {
    const { real, relative: rel } = await this.resolve(folderId, path, 'directory');
    const folder = this.#folders.find((f) => f.id === folderId) as Folder;
    const dirents: Dirent[] = await readdir(real, { withFileTypes: true });
    const entries: FolderEntry[] = [];
    let omitted = 0;
    for (const dirent of dirents) {
      if (entries.length >= MAX_LISTING_ENTRIES) {
        omitted++;
        continue;
      }
      const full = join(real, dirent.name);
      try {
        // Links are followed only when they stay inside the folder; anything else is left out.
        const target = dirent.isSymbolicLink() ? await realpath(full) : full;
        if (!isInside(relative(folder.root, target))) {
          omitted++;
          continue;
        }
        const info = await stat(target);
        if (info.isDirectory()) entries.push({ name: dirent.name, kind: 'directory', size: null });
        else if (info.isFile()) entries.push({ name: dirent.name, kind: 'file', size: info.size });
        else omitted++;
      } catch {
        omitted++; // a dangling link or a file removed while listing
      }
    }
    entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'directory' ? -1 : 1));
    return { folderId, path: rel, entries, omitted };
  }
}

function isInside(rel: string): boolean {
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The path's segments, or a specific refusal: it must be relative and must not climb. */
function checkRelative(path: string): string[] {
  if (path.includes('\0')) throw refused('invalid_path', 'The path contains a NUL character.');
  if (isAbsolute(path) || win32.isAbsolute(path) || /^[A-Za-z]:/.test(path)) {
    throw refused('absolute_path', `"${path}" is an absolute path; only paths inside an allowed folder can be opened.`);
  }
  const segments = path.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refused('path_traversal', `"${path}" climbs out of its folder (".."); it cannot be opened.`);
  return segments;
}
