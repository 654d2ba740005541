/**
 * `source.lineProtocol`: messages in InfluxDB line protocol (Telegraf's NATS output with
 * `data_format = "influx"`) on some subjects, and how their points become readings.
 */
import { z } from 'zod';
import type { LineProtocolMapping, ReadingNumberField } from '../../codec/index.js';
import { READING_NUMBER_FIELDS } from '../../domain/index.js';
import { id, strictObject } from './common.js';

/** Unit names a mapped field may be given in, and the factor to the reading's base unit. */
export const FIELD_UNITS: Record<ReadingNumberField, Record<string, number>> = {
  watts: { W: 1, kW: 1e3, MW: 1e6 },
  wattHours: { Wh: 1, kWh: 1e3, MWh: 1e6 },
  voltAmperes: { VA: 1, kVA: 1e3, MVA: 1e6 },
  powerFactor: { ratio: 1, percent: 0.01 },
  volts: { V: 1, kV: 1e3 },
  amps: { A: 1, mA: 1e-3, kA: 1e3 },
  hertz: { Hz: 1, mHz: 1e-3 },
  pricePerMWh: { perMWh: 1, perKWh: 1e3 },
  carbonGramsPerKWh: { gPerKWh: 1, kgPerMWh: 1 },
};

/** Tag or field names: what line protocol allows, unescaped. */
const lpName = z.string().min(1).max(256);

const fieldSource = z.union([
  lpName.transform((field) => ({ field, unit: undefined as string | undefined, scale: 1 })),
  strictObject({
    field: lpName.describe('Field of the point that holds the value.'),
    unit: z.string().optional().describe('Unit of the field (e.g. `kW`, `kWh`, `kV`, `mA`); scaled to the reading\'s unit. Default: the reading\'s unit.'),
    scale: z.number().finite().refine((s) => s !== 0, 'scale must not be 0').default(1).describe('Extra factor applied after the unit (e.g. 0.1 for a register in tenths). Default 1.'),
  }),
]);

const fieldsShape = Object.fromEntries(READING_NUMBER_FIELDS.map((name) => [name, fieldSource.optional()])) as Record<
  ReadingNumberField,
  z.ZodOptional<typeof fieldSource>
>;

/** `{tag}` placeholders in a meter template; the rest is literal. */
const TEMPLATE_PART = /\{([^{}]+)\}/g;

const mappingSchema = strictObject({
  measurement: z.string().min(1).default('*').describe('Measurement this mapping applies to; `*` for any. Default `*`.'),
  site: z.union([strictObject({ tag: lpName }), strictObject({ value: id })]).optional().describe('Where the site comes from: a tag, or a fixed site id. Default: the subject\'s site token.'),
  meter: z.string().min(1).refine((t) => [...t.matchAll(TEMPLATE_PART)].length > 0 || /^[A-Za-z0-9_-]{1,64}$/.test(t), {
    message: 'expected a template with {tag} placeholders or a meter id',
  }).describe('The meter id: a template of tag values, e.g. `{agent_host}-outlet{outlet}`, or a plain tag name in braces (`{meter}`). The result must be a configured meter id.'),
  fields: strictObject(fieldsShape).describe('Reading fields and the point fields they come from (`watts: power` or `watts: { field: power, unit: kW }`).'),
}).superRefine((m, ctx) => {
  const given = Object.entries(m.fields).filter(([, v]) => v !== undefined);
  if (given.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['fields'], message: 'map at least one reading field (e.g. watts: power)' });
  for (const [name, source] of given) {
    const unit = source?.unit;
    const units = FIELD_UNITS[name as ReadingNumberField];
    if (unit !== undefined && units[unit] === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['fields', name, 'unit'], message: `unknown unit '${unit}' for ${name} (one of ${Object.keys(units).join(', ')})` });
    }
  }
}).transform((m): LineProtocolMapping => ({
  measurement: m.measurement,
  ...(m.site === undefined ? {} : { site: m.site }),
  meter: m.meter,
  fields: Object.fromEntries(
    Object.entries(m.fields)
      .filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined)
      .map(([name, f]) => [name, { field: f.field, factor: (f.unit === undefined ? 1 : FIELD_UNITS[name as ReadingNumberField][f.unit]!) * f.scale }]),
  ),
}));

/** One line-protocol input: the subjects it arrives on and how its points map. */
export const lineProtocolInputSchema = strictObject({
  subjects: z.string().regex(/^(?:[^.\s*>]+|\*)(?:\.(?:[^.\s*>]+|\*))*(?:\.>)?$|^>$/, { message: 'expected a NATS subject pattern such as telemetry.*.telegraf' }).describe('NATS subject pattern (`*` one token, `>` the rest), e.g. `telemetry.*.telegraf`.'),
  precision: z.enum(['1ns', '1us', '1ms', '1s']).default('1ns').describe('Unit of the timestamps (Telegraf\'s `influx` serializer writes ns unless told otherwise). Default 1ns.'),
  mappings: z.array(mappingSchema).min(1).describe('Mappings tried in order; the first whose measurement matches is used.'),
});

export type LineProtocolInputConfig = z.output<typeof lineProtocolInputSchema>;
