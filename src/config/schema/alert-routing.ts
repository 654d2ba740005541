/** `alertRouting` → who receives the Prometheus alerts: read by `headroom rules` to write alertmanager.yml. */
import { z } from 'zod';
import { id, strictObject } from './common.js';

const URL_TEMPLATE_RE = /^https?:\/\/\S+$/;
const urlTemplate = z.string().regex(URL_TEMPLATE_RE, { message: 'expected an http(s) URL; {team} is replaced by the team' });

export const alertRoutingSchema = strictObject({
  defaultTeam: id.default('ops').describe('Team receiving the alerts of sites no team owns. Default `ops`.'),
  platformTeam: id.default('platform').describe('Team paged for the workers\' own alerts (scrape down, metrics absent). Default `platform`.'),
  teams: z.record(id, z.array(id).min(1)).default({}).describe('Site teams: team → the sites it owns (each site in at most one team). Default {} (all to defaultTeam).'),
  pagerUrl: urlTemplate.optional().describe('Webhook of each team\'s pager receiver (`<team>-pager`, critical alerts); `{team}` is replaced by the team. Optional: without it the pager receivers have no webhook.'),
  chatUrl: urlTemplate.optional().describe('Webhook of each team\'s chat receiver (`<team>-chat`, warnings); `{team}` as above. Optional.'),
});

export type AlertRoutingConfig = z.output<typeof alertRoutingSchema>;

export interface RoutingIssue {
  path: (string | number)[];
  message: string;
}

/** Every team's sites are sites of the file, and no site has two teams. */
export function checkAlertRouting(routing: AlertRoutingConfig, siteIds: readonly string[]): RoutingIssue[] {
  const known = new Set(siteIds);
  const owner = new Map<string, string>();
  const issues: RoutingIssue[] = [];
  for (const [team, sites] of Object.entries(routing.teams)) {
    sites.forEach((site, i) => {
      const path = ['alertRouting', 'teams', team, i];
      const first = owner.get(site);
      if (!known.has(site)) issues.push({ path, message: `unknown site '${site}'` });
      else if (first !== undefined) issues.push({ path, message: `site '${site}' already belongs to team '${first}'` });
      else owner.set(site, team);
    });
  }
  return issues;
}
