import { Anchor } from '@mantine/core';
import { Link } from 'react-router';

export function AccountLink({ userId }: { userId: string }) {
  return (
    <Anchor component={Link} to={`/accounts/${encodeURIComponent(userId)}`}>
      {userId}
    </Anchor>
  );
}
