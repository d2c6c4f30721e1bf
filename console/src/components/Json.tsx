import { Code } from '@mantine/core';

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <Code block aria-label={label} className="json">
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}
