// Public face of the codecs: bytes ↔ domain.
export { decodeMessage, encodeReading, encodeReadingBytes, parseIsoTimestamp } from './reading-codec.js';
export type { DecodeOptions } from './reading-codec.js';
export { readNdjsonReadings, isGzipFile } from './ndjson.js';
export type { NdjsonLine, NdjsonReadOptions } from './ndjson.js';
export { formatWindowLabel, recordToPoint, recordToLine, pointToLine, MEASUREMENT } from './points.js';
export * from './replay-source.js';
export { decodeLineProtocol, LINE_PROTOCOL_PRECISIONS } from './line-protocol.js';
export type { FieldValue, LineProtocolError, LineProtocolField, LineProtocolOptions, LineProtocolPoint, LineProtocolPrecision, LineProtocolResult, LineProtocolTag } from './line-protocol.js';
export { decodeAnswerJson, exactJson, pointsToCorpusShape } from './line-protocol-json.js';
export type { CorpusPoint, CorpusValue } from './line-protocol-json.js';
export { decodeLineProtocolMessage, mapPoint } from './line-protocol-mapping.js';
export type { LineProtocolMapping, LineProtocolMessageOptions, ReadingNumberField } from './line-protocol-mapping.js';
