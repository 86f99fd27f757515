import { join } from 'node:path';

/** The repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');
