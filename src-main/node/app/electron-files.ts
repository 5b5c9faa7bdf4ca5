// How `cellshift start` hands the desktop window the file access the user asked for on its
// command line (--allow-dir, --max-upload): an environment variable set by the launcher, which
// only the user's own shell can set — never anything the page sends.
import { z } from 'zod';

export const FILE_ACCESS_ENV_VAR = 'CELLSHIFT_FILE_ACCESS';

const FileAccessFlags = z.strictObject({
  allowedDirs: z.array(z.string().min(1)).default([]),
  maxUploadBytes: z.number().int().positive().optional(),
});

export function fileAccessFromEnv(env: NodeJS.ProcessEnv = process.env): z.infer<typeof FileAccessFlags> {
  const text = env[FILE_ACCESS_ENV_VAR];
  if (!text) return { allowedDirs: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${FILE_ACCESS_ENV_VAR} is not JSON`);
  }
  const parsed = FileAccessFlags.safeParse(raw);
  if (!parsed.success) throw new Error(`${FILE_ACCESS_ENV_VAR} is malformed: ${parsed.error.message}`);
  return parsed.data;
}
