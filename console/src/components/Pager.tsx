import { useState } from 'react';
import { Button, Group, Text } from '@mantine/core';

/** Cursor paging: the cursors of the pages seen so far, so Previous goes back without offsets. */
export function useCursorPages() {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  return {
    cursor: stack.at(-1),
    page: stack.length,
    next: (cursor: string) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([undefined]),
  };
}

export function Pager({ label, pages, nextCursor }: { label: string; pages: ReturnType<typeof useCursorPages>; nextCursor: string | null | undefined }) {
  return (
    <Group justify="flex-end" mt="sm" gap="xs" role="navigation" aria-label={`${label} pages`}>
      <Text size="sm" c="dimmed">
        page {pages.page}
      </Text>
      <Button variant="default" size="xs" disabled={pages.page <= 1} onClick={pages.previous} aria-label={`Previous page of ${label}`}>
        Previous
      </Button>
      <Button variant="default" size="xs" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)} aria-label={`Next page of ${label}`}>
        Next
      </Button>
    </Group>
  );
}
