/** `simulator`: the deterministic fleet simulator and its fault probabilities. */
import { z } from 'zod';
import { durationMs } from '../units.js';
import { fraction, positive, strictObject } from './common.js';

// ---------------------------------------------------------------------------------------
// simulator

const probability = fraction;

const faultsSchema = strictObject({
  dropout: probability.default(0.001).describe('Per reading: the meter skips it. Default 0.001.'),
  flatline: probability.default(0.0005).describe('Per reading: the meter starts repeating one value. Default 0.0005.'),
  spike: probability.default(0.0005).describe('Per reading: an implausible spike. Default 0.0005.'),
  sentinel: probability.default(0.0005).describe('Per reading: a sentinel value (-1, 0, 65535). Default 0.0005.'),
  clockSkew: probability.default(0.0002).describe('Per reading: the meter\'s clock jumps. Default 0.0002.'),
  duplicate: probability.default(0.001).describe('Per reading: sent twice. Default 0.001.'),
  outOfOrder: probability.default(0.002).describe('Per reading: sent after its successor. Default 0.002.'),
  lateBurst: probability.default(0.0001).describe('Per reading: starts a burst of late readings. Default 0.0001.'),
});

export const simulatorSchema = strictObject({
  seed: z.number().int().default(1).describe('Seed of the deterministic generator. Default 1.'),
  rate: positive(durationMs, 'rate').default('1s').describe('Interval between two readings of one meter. Default 1s.'),
  batch: z.boolean().default(true).describe('Send gateway batches (JSON arrays) instead of single readings. Default true.'),
  faults: faultsSchema.default({}).describe('Fault probabilities.'),
}).transform((s) => ({ seed: s.seed, rateMs: s.rate, batch: s.batch, faults: s.faults }));
