import Table from 'cli-table3';

type Cell = string | number | boolean | null | undefined;

/** Rows as a table for people: a header of the column names, one line per row. */
export function table(rows: Array<Record<string, Cell>>, columns?: string[]): string {
  const heads = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const t = new Table({ head: heads, style: { head: [], border: [] } });
  for (const row of rows) t.push(heads.map((h) => text(row[h])));
  return t.toString();
}

/** One record as a two-column table: name, value. */
export function record(fields: Record<string, Cell>): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [name, value] of Object.entries(fields)) t.push({ [name]: text(value) });
  return t.toString();
}

function text(value: Cell): string {
  return value === null || value === undefined ? '' : String(value);
}
