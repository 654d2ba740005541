/**
 * A topology read from a DCIM (NetBox, a CSV export), before it becomes a config file: sites
 * and nodes with ratings in watts, and the warnings of what could not be taken over.
 */

export interface ImportedNode {
  id: string;
  parent?: string;
  level: string;
  ratingWatts: number;
  /** Usable share of the rating; absent: the config's default (0.8). */
  derate?: number;
  role?: 'facility' | 'it';
  meters: string[];
  redundantWith?: string;
  /** Where it came from, for the comment beside it (`netbox power-feed 12`). */
  origin?: string;
}

export interface ImportedSite {
  id: string;
  nodes: ImportedNode[];
}

export interface ImportedTopology {
  sites: ImportedSite[];
  /** What was skipped or guessed, one sentence each. */
  warnings: string[];
}

const ID_CHARS = /[^A-Za-z0-9_-]+/g;
const MAX_ID = 64;

/** A DCIM name as a Headroom id: runs of other characters become `-`, at most 64 long. */
export function slugId(name: string): string {
  const slug = name.trim().replace(ID_CHARS, '-').replace(/^-+|-+$/g, '');
  return (slug === '' ? 'x' : slug).slice(0, MAX_ID);
}

/** `{name}`-style template → text; unknown placeholders are kept as they are. */
export function fillTemplate(template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(/\{([A-Za-z_]+)\}/g, (whole, key: string) => values[key] ?? whole);
}
