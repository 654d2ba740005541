import { formatIssues, parseConfigText, type ConfigIssue, type HeadroomConfig } from '../../src/config/index.js';

/** The config a test's YAML text parses to; an invalid text fails the test with every problem named. */
export function configFromText(text: string, sourceName = 'test.yaml'): HeadroomConfig {
  const result = parseConfigText(text, sourceName);
  if (!result.ok) throw new Error(`test config is invalid:\n${formatIssues(sourceName, result.issues)}`);
  return result.config;
}

/** The problems found in a text the test expects to be rejected; a valid text fails the test. */
export function configIssuesFromText(text: string, sourceName = 'test.yaml'): ConfigIssue[] {
  const result = parseConfigText(text, sourceName);
  if (result.ok) throw new Error(`expected ${sourceName} to be rejected`);
  return result.issues;
}
