import type { ReactNode } from 'react';
import { Table, Text } from '@mantine/core';

export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Right-aligned figures. */
  num?: boolean;
  className?: string;
}

/**
 * A table of rows, named for assistive technology by `label`, scrolling sideways inside its panel on a
 * phone; `empty` is said when there are no rows (nothing while they load).
 */
export function DataTable<T>({
  label,
  rows,
  columns,
  rowKey,
  rowProps,
  empty,
  testId,
  className,
  striped = true,
}: {
  label: string;
  rows: readonly T[] | undefined;
  columns: Array<Column<T>>;
  rowKey: (row: T) => string | number;
  rowProps?: (row: T) => Record<`data-${string}`, string | number>;
  empty?: ReactNode;
  testId?: string;
  className?: string;
  striped?: boolean;
}) {
  const cellClass = (c: Column<T>) => [c.num ? 'num' : '', c.className ?? ''].join(' ').trim() || undefined;
  return (
    <>
      <div className={['table-scroll', className].filter(Boolean).join(' ')}>
        <Table striped={striped} aria-label={label} data-testid={testId}>
          <Table.Thead>
            <Table.Tr>
              {columns.map((c, i) => (
                <Table.Th key={i} className={cellClass(c)}>
                  {c.header}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows?.map((row) => (
              <Table.Tr key={rowKey(row)} {...rowProps?.(row)}>
                {columns.map((c, i) => (
                  <Table.Td key={i} className={cellClass(c)}>
                    {c.cell(row)}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </div>
      {rows && rows.length === 0 && empty ? (
        <Text c="dimmed" size="sm" mt="xs">
          {empty}
        </Text>
      ) : null}
    </>
  );
}
