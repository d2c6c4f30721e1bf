import type { Executor } from '../db/database.js';

/** Feature keys exist or not; a short cache keeps validation of usage off the database. */
export class FeatureDirectory {
  private keys = new Set<string>();
  private loadedAt = 0;

  constructor(
    private readonly exec: Executor,
    private readonly maxAgeMs = 5000,
  ) {}

  async unknown(featureKeys: readonly string[]): Promise<string[]> {
    if (Date.now() - this.loadedAt > this.maxAgeMs || featureKeys.some((k) => !this.keys.has(k))) {
      // A key we have not seen may have been added by an admin since we last looked.
      const rows = await this.exec.selectFrom('features').select('key').execute();
      this.keys = new Set(rows.map((r) => r.key));
      this.loadedAt = Date.now();
    }
    return [...new Set(featureKeys.filter((k) => !this.keys.has(k)))];
  }
}
