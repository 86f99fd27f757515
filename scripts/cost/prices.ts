/**
 * The dated price table (cost/prices/<region>.json): every price with its source pages and the
 * date it was read. A price the table marks unknown (usd null) stays unknown all the way to the
 * output; a key the table does not have at all is a programming error and throws.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PriceSource {
  readonly title: string;
  readonly url: string;
}

export interface PriceEntry {
  /** USD per `per`, or null when no public page gave the figure (status "unknown"). */
  readonly usd: number | null;
  readonly per: string;
  /** Keys into PriceTable.sources. */
  readonly source: readonly string[];
  /** ISO date the figure was read. */
  readonly read: string;
  readonly status?: 'unknown';
  readonly note?: string;
  /** Something a reader must know about the figure (e.g. it was read for a neighbouring region). */
  readonly caveat?: string;
}

export interface PriceTable {
  readonly region: string;
  readonly currency: 'USD';
  readonly read: string;
  readonly hours_per_month: number;
  readonly note: string;
  readonly sources: Readonly<Record<string, PriceSource>>;
  readonly prices: Readonly<Record<string, PriceEntry>>;
}

/** A looked-up price: a number, or 'unknown'. */
export type UnitPrice = number | 'unknown';

export function pricesDir(root: string): string {
  return join(root, 'cost', 'prices');
}

/** Loads and checks the table of a region; throws naming the region when there is none. */
export function loadPriceTable(root: string, region: string): PriceTable {
  const file = join(pricesDir(root), `${region}.json`);
  if (!existsSync(file)) throw new Error(`no price table for region ${region} (expected ${file})`);
  const table = JSON.parse(readFileSync(file, 'utf8')) as PriceTable;
  checkPriceTable(table, file);
  return table;
}

/** Structural checks: every price names known sources and a read date; unknown ⇔ usd null. */
export function checkPriceTable(table: PriceTable, where: string): void {
  for (const [key, p] of Object.entries(table.prices)) {
    if (p.source.length === 0) throw new Error(`${where}: price ${key} names no source`);
    for (const s of p.source)
      if (!table.sources[s]) throw new Error(`${where}: price ${key} names unknown source "${s}"`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(p.read)) throw new Error(`${where}: price ${key} has no read date (YYYY-MM-DD)`);
    if ((p.usd === null) !== (p.status === 'unknown'))
      throw new Error(`${where}: price ${key}: usd must be null exactly when status is "unknown"`);
    if (p.usd !== null && !(p.usd >= 0)) throw new Error(`${where}: price ${key} must be a number ≥ 0`);
  }
}

/** The price of `key`: its number, or 'unknown'. Throws for a key the table lacks. */
export function unitPrice(table: PriceTable, key: string): UnitPrice {
  const p = table.prices[key];
  if (!p)
    throw new Error(`price table ${table.region} has no entry "${key}" (add it, with its source, or mark it unknown)`);
  return p.usd ?? 'unknown';
}
