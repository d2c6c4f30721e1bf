import { Alert } from '@mantine/core';
import { ApiError } from '../api';

/** A refusal as the engine worded it (the contract's message and code), where the admin acted. */
export function ErrorNote({ error, title = 'Refused' }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <Alert color="red" title={title} role="alert" data-error-code={code}>
      {message}
      {code ? <span className="error-code"> ({code})</span> : null}
    </Alert>
  );
}
