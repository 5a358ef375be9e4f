// Writes a projected volume's files the way the kubelet's AtomicWriter does: a fresh `..<timestamp>` directory,
// a `..data` symlink renamed over the old one, visible names linking through `..data` (pkg/volume/util/atomic_writer.go).
import { chmod, mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** atomic_writer.go `dataDirName`: the symlink readers resolve through. */
export const DATA_DIR_NAME = '..data';
/** atomic_writer.go `newDataDirName`: the new symlink, renamed over `..data`. */
export const NEW_DATA_DIR_NAME = '..data_tmp';

const pad = (value: number): string => String(value).padStart(2, '0');

/** `time.Now().UTC().Format("..2006_01_02_15_04_05.")`, the prefix of every timestamped directory. */
export function timestampPrefix(at: Date): string {
  return (
    `..${at.getUTCFullYear()}_${pad(at.getUTCMonth() + 1)}_${pad(at.getUTCDate())}_` +
    `${pad(at.getUTCHours())}_${pad(at.getUTCMinutes())}_${pad(at.getUTCSeconds())}.`
  );
}

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/**
 * Projects one file into `targetDir` atomically, following AtomicWriter.Write: (5) a new timestamped
 * directory, mode 0755; (6) the file written there with `mode`; (7) the visible `<fileName> -> ..data/<fileName>`
 * symlink if missing; (8) `..data_tmp -> <timestamped dir>`; (9) renamed over `..data` (rename(2) is atomic,
 * so a reader resolves either the old directory or the new one, never a half-written file); (11) the old
 * timestamped directory removed. Not safe for concurrent calls on one directory: the caller serialises them,
 * as the kubelet does. POSIX only (the kubelet's Windows path deletes and recreates the link instead).
 */
export async function writeAtomically(
  targetDir: string,
  fileName: string,
  content: string,
  mode: number,
  at: Date,
): Promise<void> {
  if (fileName.startsWith('..') || fileName.includes('/') || fileName === '') {
    // atomic_writer.go validatePath: names starting with `..` are reserved for the writer.
    throw new Error(`writeAtomically: invalid file name ${JSON.stringify(fileName)}`);
  }
  await mkdir(targetDir, { recursive: true });
  const dataDir = path.join(targetDir, DATA_DIR_NAME);
  let oldTimestamped: string | undefined;
  try {
    oldTimestamped = await readlink(dataDir);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }

  const timestamped = await mkdtemp(path.join(targetDir, timestampPrefix(at)));
  await chmod(timestamped, 0o755);
  const dataFile = path.join(timestamped, fileName);
  await writeFile(dataFile, content, { mode });
  // writeFile's mode is filtered by the umask; AtomicWriter chmods for the same reason.
  await chmod(dataFile, mode);

  const visible = path.join(targetDir, fileName);
  try {
    await readlink(visible);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    await symlink(path.join(DATA_DIR_NAME, fileName), visible);
  }

  const newDataDir = path.join(targetDir, NEW_DATA_DIR_NAME);
  await rm(newDataDir, { force: true });
  await symlink(path.basename(timestamped), newDataDir);
  try {
    await rename(newDataDir, dataDir);
  } catch (error) {
    await rm(newDataDir, { force: true });
    await rm(timestamped, { recursive: true, force: true });
    throw error;
  }
  // Only ever a sibling `..<timestamp>` directory of ours: never follow a link that points elsewhere.
  const isOurs = oldTimestamped?.startsWith('..') && !oldTimestamped.includes('/') && oldTimestamped !== '..';
  if (oldTimestamped && isOurs && oldTimestamped !== path.basename(timestamped)) {
    await rm(path.join(targetDir, oldTimestamped), { recursive: true, force: true });
  }
}
