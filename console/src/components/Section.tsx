import type { ReactNode } from 'react';
import { Card, Group, Title } from '@mantine/core';

/** A titled panel: its heading names the region for assistive technology. */
export function Section({ title, actions, children, id }: { title: string; actions?: ReactNode; children: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <Card withBorder radius="md" padding="md" component="section" aria-labelledby={headingId} className="section">
      <Group justify="space-between" mb="sm" wrap="wrap">
        <Title order={2} size="h4" id={headingId}>
          {title}
        </Title>
        {actions}
      </Group>
      {children}
    </Card>
  );
}
