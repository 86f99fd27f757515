/**
 * Lambda entry point (handler `index.handler`). The environment is validated here, at init:
 * a missing or bad variable fails the cold start with a message naming it.
 */
import { createHandler } from './runtime';

export const handler = createHandler();
