/** Files shipped into invocations' working directories (`--files`), for every backend. */
export { FILES_MAX_BYTES, FileStaging, FilesError, matchFiles, stageFiles } from './stage';
