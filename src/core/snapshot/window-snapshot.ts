/**
 * The window engine's snapshot bytes: written in version 2 (binary, window-binary.ts), read in
 * version 2 or 1 (JSON, from builds before the binary format). The two are told apart by their
 * first bytes: the magic "HRSW" or a JSON object.
 */
import { hasMagic } from './binary.js';
import { decodeNonFinite, decodeSnapshot } from './envelope.js';
import { SnapshotError } from './error.js';
import { WINDOW_MAGIC, readWindowState, writeWindowState } from './window-binary.js';
import { WINDOW_SNAPSHOT_VERSIONS_READ, type SiteState } from './window-state.js';

/** Encodes site states (in topology order) in the current format. */
export function encodeWindowSnapshot(sites: readonly SiteState[]): Uint8Array {
  return writeWindowState(sites);
}

/**
 * The site states of a window engine snapshot, not yet checked against a topology (each
 * SiteEngine.fromState does that). Corrupt bytes and unknown versions throw SnapshotError.
 */
export function decodeWindowSnapshot(bytes: Uint8Array): unknown[] {
  if (hasMagic(bytes, WINDOW_MAGIC)) return readWindowState(bytes, WINDOW_SNAPSHOT_VERSIONS_READ);
  const parsed = decodeSnapshot(bytes, 'window engine', [1], decodeNonFinite, WINDOW_SNAPSHOT_VERSIONS_READ);
  const sites = parsed['sites'];
  if (!Array.isArray(sites)) throw new SnapshotError('snapshot has no sites');
  return sites;
}
