// Public face of the codecs: bytes ↔ domain.
export { decodeMessage, encodeReading, encodeReadingBytes, parseIsoTimestamp } from './reading-codec.js';
export type { DecodeOptions } from './reading-codec.js';
export { decodeNdjsonLine, isBlank, isTornLine, type TextLine } from './ndjson.js';
export { formatWindowLabel, recordToPoint, recordToLine, pointToLine, MEASUREMENT } from './points.js';
export * from './replay-source.js';
export * from './line-protocol/index.js';
export * from './subjects.js';
export { outputRecordId } from './record-id.js';
