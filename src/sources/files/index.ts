// Files as sources: replay inputs (NDJSON, CSV, presets), opened, gunzipped and split into lines.
export { openReplaySource, type ReplaySource } from './replay-file.js';
export { decompressed, isGzipFile, textLines } from './text-file.js';
