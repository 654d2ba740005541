/** An imported topology as a Headroom config file (YAML): `sites:` with one line per node. */
import { Document, isMap, isSeq, type YAMLMap } from 'yaml';
import { formatPowerWatts } from '../config/index.js';
import type { ImportedTopology } from './imported.js';

/** YAML text; `header` lines become the file's opening comment. */
export function renderTopologyConfig(topology: ImportedTopology, header: readonly string[]): string {
  const plain = {
    sites: topology.sites.map((site) => ({
      id: site.id,
      nodes: site.nodes.map((n) => ({
        id: n.id,
        ...(n.parent === undefined ? {} : { parent: n.parent }),
        level: n.level,
        ...(n.role === undefined ? {} : { role: n.role }),
        rating: formatPowerWatts(n.ratingWatts),
        ...(n.derate === undefined ? {} : { derate: Number(n.derate.toPrecision(6)) }),
        ...(n.redundantWith === undefined ? {} : { redundantWith: n.redundantWith }),
        ...(n.meters.length === 0 ? {} : { meters: n.meters }),
      })),
    })),
  };
  const doc = new Document(plain);
  doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  const sites = doc.get('sites');
  if (isSeq(sites)) {
    sites.items.forEach((siteNode, s) => {
      if (!isMap(siteNode)) return;
      const nodes = siteNode.get('nodes');
      if (!isSeq(nodes)) return;
      nodes.items.forEach((item, i) => {
        if (!isMap(item)) return;
        (item as YAMLMap).flow = true;
        const origin = topology.sites[s]!.nodes[i]!.origin;
        if (origin !== undefined) item.comment = ` ${origin}`;
      });
    });
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
