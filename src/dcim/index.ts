// Public face of DCIM import: NetBox and CSV exports → topology, rendered as a config; topology diffs.
export { fillTemplate, slugId, type ImportedNode, type ImportedSite, type ImportedTopology } from './imported.js';
export { feedRatingWatts, netboxToTopology, type NetboxInventory, type NetboxMappingOptions } from './netbox.js';
export { NetboxError, readNetboxInventory, type NetboxClientOptions } from './netbox-client.js';
export { CSV_TOPOLOGY_FIELDS, CsvMappingError, csvRowsToTopology, parseCsvTopologyMapping, type CsvTopologyMapping } from './csv-topology.js';
export { diffTopologies, formatChange, type TopologyChange } from './diff.js';
export { renderTopologyConfig } from './render.js';
