/** A snapshot that is corrupt, of an unknown format version, or taken with another topology or window set. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}
