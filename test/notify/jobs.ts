/** Runs a scheduled job through the admin API and returns what it returned once its worker finished it. */
export { runJob as jobResult } from '../support/engine.js';
