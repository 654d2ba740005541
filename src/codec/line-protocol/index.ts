// InfluxDB line protocol: the decoder, its JSON answer (the conformance corpus's shape) and the mapping to readings.
export { decodeLineProtocol } from './parser.js';
export { LINE_PROTOCOL_PRECISIONS } from './types.js';
export type { FieldValue, LineProtocolError, LineProtocolField, LineProtocolOptions, LineProtocolPoint, LineProtocolPrecision, LineProtocolResult, LineProtocolTag } from './types.js';
export { decodeAnswerJson, exactJson, pointsToCorpusShape } from './json.js';
export type { CorpusPoint, CorpusValue } from './json.js';
export { decodeLineProtocolMessage, mapPoint } from './mapping.js';
export type { LineProtocolMapping, LineProtocolMessageOptions, ReadingNumberField } from './mapping.js';
