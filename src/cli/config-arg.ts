import { formatIssues, loadConfigFile, type HeadroomConfig } from '../config/index.js';

/** Exit code for configuration errors (STYLE: config errors stop start-up with code 2). */
export { EXIT_CONFIG } from '../telemetry/index.js';

/** The one config error type the CLI raises; main() prints it and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Loads and validates a config file, or throws a ConfigError with every problem by path. */
export function loadConfigOrThrow(path: string): HeadroomConfig {
  const result = loadConfigFile(path);
  if (!result.ok) throw new ConfigError(formatIssues(path, result.issues));
  return result.config;
}
