/**
 * `headroom topology import` (NetBox or a CSV export → a config file) and `headroom topology
 * diff OLD NEW` (what a re-import changes). The import validates what it writes: a file it
 * produces is one `validate` accepts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { formatIssues, loadConfigFile, parseConfigText } from '../config/index.js';
import {
  CsvMappingError,
  csvRowsToTopology,
  diffTopologies,
  formatChange,
  netboxToTopology,
  parseCsvTopologyMapping,
  readNetboxInventory,
  renderTopologyConfig,
  type ImportedTopology,
} from '../dcim/index.js';
import { EXIT_RUNTIME } from '../telemetry/index.js';
import { ConfigError, EXIT_CONFIG } from './config-arg.js';

/** diff(1)'s convention: 0 no change, 1 changes, 2 trouble. */
const EXIT_CHANGED = 1;

interface ImportFlags {
  netbox?: string;
  tokenEnv: string;
  tokenFile?: string;
  site?: string[];
  pduRole: string;
  pduMeter: string;
  feedMeter: string;
  outlets?: boolean;
  outletMeter: string;
  csv?: string;
  mapping?: string;
  delimiter: string;
  output?: string;
}

function tokenOf(flags: ImportFlags): string {
  if (flags.tokenFile !== undefined) {
    try {
      return readFileSync(flags.tokenFile, 'utf8').trim();
    } catch (err: unknown) {
      throw new ConfigError(`--token-file ${flags.tokenFile}: cannot read it (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const token = process.env[flags.tokenEnv];
  if (token === undefined || token === '') throw new ConfigError(`NetBox token: environment variable ${flags.tokenEnv} is not set (or give --token-file FILE)`);
  return token;
}

async function importTopology(flags: ImportFlags): Promise<{ topology: ImportedTopology; from: string }> {
  if ((flags.netbox === undefined) === (flags.csv === undefined)) throw new ConfigError('topology import: give exactly one of --netbox URL or --csv FILE');
  if (flags.netbox !== undefined) {
    const inventory = await readNetboxInventory({
      url: flags.netbox,
      token: tokenOf(flags),
      pduRole: flags.pduRole,
      outlets: flags.outlets === true,
      ...(flags.site === undefined ? {} : { sites: flags.site }),
    });
    const topology = netboxToTopology(inventory, { pduMeter: flags.pduMeter, feedMeter: flags.feedMeter, outletMeter: flags.outletMeter });
    return { topology, from: `NetBox ${new URL(flags.netbox).origin}` };
  }
  if (flags.mapping === undefined) throw new ConfigError('topology import --csv: --mapping is required (e.g. id=Asset,parent=Fed From,level=Type,rating=Capacity:kW)');
  const mapping = parseCsvTopologyMapping(flags.mapping);
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(readFileSync(flags.csv!), { columns: true, bom: true, skip_empty_lines: true, delimiter: flags.delimiter, trim: true }) as Record<string, string>[];
  } catch (err: unknown) {
    throw new ConfigError(`--csv ${flags.csv}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const site = flags.site?.[0];
  return { topology: csvRowsToTopology(rows, mapping, site), from: `CSV ${flags.csv}` };
}

export function registerTopologyCommand(program: Command): void {
  const topology = program.command('topology').description('import the electrical tree from a DCIM (NetBox, CSV) and review changes');

  topology
    .command('import')
    .description('write a config (YAML) with the sites and nodes of NetBox or a CSV export; validated before it is written')
    .option('--netbox <url>', 'NetBox base URL (power panels, power feeds, PDUs and their power ports)')
    .option('--token-env <var>', 'environment variable holding the NetBox API token', 'NETBOX_TOKEN')
    .option('--token-file <file>', 'file holding the NetBox API token (instead of --token-env)')
    .option('--site <slug...>', 'only these sites (NetBox site slugs); with --csv: the site of rows without a site column')
    .option('--pdu-role <slug>', 'NetBox device role of PDUs', 'pdu')
    .option('--pdu-meter <template>', 'meter id of a PDU: {site} {panel} {feed} {rack} {device}', '{device}')
    .option('--feed-meter <template>', 'meter id of a power feed without a PDU: {site} {panel} {feed} {rack}', '{panel}-{feed}')
    .option('--outlets', 'also import the PDUs\' outlets that feed a device, rated by connector type and feed voltage')
    .option('--outlet-meter <template>', 'with --outlets: meter id of an outlet, adds {outlet}', '{device}-{outlet}')
    .option('--csv <file>', 'a DCIM export as a table, one node a row')
    .option('--mapping <spec>', 'with --csv: field=column pairs, e.g. id=Asset,parent=Fed From,level=Type,rating=Capacity:kW,derate=Derate,meters=Meters')
    .option('--delimiter <char>', 'with --csv: the column separator', ',')
    .option('-o, --output <file>', 'config file to write (default: standard output)')
    .action(async (flags: ImportFlags) => {
      let imported: { topology: ImportedTopology; from: string };
      try {
        imported = await importTopology(flags);
      } catch (err: unknown) {
        // A mapping that cannot work is a usage error (exit 2); NetBox errors are one line, exit 1.
        throw err instanceof CsvMappingError ? new ConfigError(err.message) : err;
      }
      const { topology: t, from } = imported;
      for (const w of t.warnings) process.stderr.write(`warning: ${w}\n`);
      if (t.sites.length === 0) {
        process.stderr.write(`headroom topology import: ${from} holds no power topology (no panels with live feeds, no rows)\n`);
        process.exitCode = EXIT_RUNTIME;
        return;
      }
      const text = renderTopologyConfig(t, [`Imported from ${from} by headroom topology import.`, 'Review with `headroom topology diff OLD NEW` before deploying.']);
      const name = flags.output ?? '<output>';
      const check = parseConfigText(text, name);
      if (!check.ok) {
        process.stderr.write(`headroom topology import: the imported topology is not a valid config:\n${formatIssues(name, check.issues)}\n`);
        process.exitCode = EXIT_CONFIG;
        return;
      }
      if (flags.output === undefined) process.stdout.write(text);
      else writeFileSync(flags.output, text);
      const nodes = t.sites.reduce((n, s) => n + s.nodes.length, 0);
      process.stderr.write(`${flags.output ?? 'stdout'}: ${t.sites.length} site${t.sites.length === 1 ? '' : 's'}, ${nodes} nodes from ${from}${t.warnings.length > 0 ? `, ${t.warnings.length} warning${t.warnings.length === 1 ? '' : 's'}` : ''}\n`);
    });

  topology
    .command('diff')
    .description('what changes from OLD to NEW: nodes added, removed, re-parented, re-rated; exit 0 none, 1 changes, 2 invalid config')
    .argument('<old>', 'config in force')
    .argument('<new>', 'config to deploy (e.g. a fresh import)')
    .action((oldPath: string, newPath: string) => {
      const before = loadConfigFile(oldPath);
      const after = loadConfigFile(newPath);
      const problems = [before.ok ? '' : formatIssues(oldPath, before.issues), after.ok ? '' : formatIssues(newPath, after.issues)].filter((p) => p !== '');
      if (!before.ok || !after.ok) throw new ConfigError(problems.join('\n'));
      const changes = diffTopologies(before.config.topology.sites, after.config.topology.sites);
      for (const c of changes) process.stdout.write(`${formatChange(c)}\n`);
      process.stderr.write(changes.length === 0 ? 'no topology changes\n' : `${changes.length} topology change${changes.length === 1 ? '' : 's'}\n`);
      if (changes.length > 0) process.exitCode = EXIT_CHANGED;
    });
}
