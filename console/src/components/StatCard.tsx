import type { ReactNode } from 'react';
import { Card, Text } from '@mantine/core';

export function StatCard({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <Card withBorder radius="md" padding="md" className="stat">
      <Text size="sm" c="dimmed" fw={500}>
        {label}
      </Text>
      <Text component="div" className="stat-value" data-testid={testId}>
        {value}
      </Text>
      {hint ? (
        <Text component="div" size="xs" c="dimmed">
          {hint}
        </Text>
      ) : null}
    </Card>
  );
}
