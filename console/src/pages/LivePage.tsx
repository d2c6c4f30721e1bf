import { useCallback, useRef } from 'react';
import { Anchor, Badge, Group, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get, query } from '../api';
import type { AccountPage, Alert, Analytics, QueueHealth } from '../types';
import { Section, Scroll } from '../components/Section';
import { StatCard } from '../components/StatCard';
import { TokensChart } from '../components/TokensChart';
import { ErrorNote } from '../components/ErrorNote';
import { Pager, useCursorPages } from '../components/Pager';
import { useLiveFeed } from '../hooks/useLiveFeed';
import { utc } from '../format';

/** Today's consumption, tokens per day, top features, users near their limit and the live feed. */
export function LivePage() {
  const client = useQueryClient();
  const analytics = useQuery({ queryKey: ['analytics'], queryFn: () => get<Analytics>('/admin/api/analytics'), refetchInterval: 30_000 });
  const alerts = useQuery({ queryKey: ['alerts'], queryFn: () => get<{ alerts: Alert[] }>('/admin/api/alerts?limit=100') });
  const queues = useQuery({ queryKey: ['queues'], queryFn: () => get<{ queues: QueueHealth[] }>('/admin/api/queues'), refetchInterval: 10_000 });

  // Counters follow the feed: a burst of batches refreshes them at most every two seconds.
  const lastRefresh = useRef(0);
  const onBatch = useCallback(() => {
    if (Date.now() - lastRefresh.current < 2_000) return;
    lastRefresh.current = Date.now();
    void client.invalidateQueries({ queryKey: ['analytics'] });
    void client.invalidateQueries({ queryKey: ['near-limit'] });
  }, [client]);
  const feed = useLiveFeed(onBatch);

  const a = analytics.data;
  const waiting = queues.data?.queues.reduce((n, q) => n + q.waiting, 0);
  return (
    <>
      <ErrorNote error={analytics.error} title="Analytics unavailable" />
      <div className="stats">
        <StatCard label="Tokens today" value={a?.today.tokens ?? '–'} hint={a ? `${a.today.uses} uses · ${a.today.activeUsers} users` : undefined} testId="today-tokens" />
        <StatCard label="Last 30 days" value={a?.totals.tokens ?? '–'} hint={a ? `${a.totals.uses} uses` : undefined} testId="range-tokens" />
        <StatCard label="Alerts" value={alerts.data?.alerts.length ?? '–'} hint="unusual usage, broken invariants" testId="alert-count" />
        <StatCard label="Jobs waiting" value={waiting ?? '–'} hint={<Anchor href="/admin/queues" size="xs">open bull-board</Anchor>} testId="jobs-waiting" />
      </div>
      <Section title="Tokens consumed per day">{a ? <TokensChart days={a.tokensPerDay} /> : <Text c="dimmed">loading…</Text>}</Section>
      <LiveFeed feed={feed} />
      <div className="columns columns-wide-first">
        <NearLimit />
        <Section title="Top features">
          <Scroll>
            <Table striped aria-label="Top features by tokens" data-testid="top-features">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Feature</Table.Th>
                  <Table.Th className="num">Uses</Table.Th>
                  <Table.Th className="num">Tokens</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {a?.mostUsedFeatures.byTokens.map((f) => (
                  <Table.Tr key={f.feature}>
                    <Table.Td>{f.name}</Table.Td>
                    <Table.Td className="num">{f.uses}</Table.Td>
                    <Table.Td className="num">{f.tokens}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Scroll>
        </Section>
      </div>
    </>
  );
}

function LiveFeed({ feed }: { feed: ReturnType<typeof useLiveFeed> }) {
  const color = feed.state === 'live' ? 'green' : feed.state === 'connecting' ? 'gray' : 'orange';
  return (
    <Section title="Live feed" actions={<Badge color={color} data-testid="feed-state">{feed.state}</Badge>}>
      <Text size="sm" c="dimmed" mb="xs">
        Uses and rejections as the workers apply them{feed.hidden > 0 ? ` (${feed.hidden} more in large batches not listed)` : ''}.
      </Text>
      <div className="live-feed table-scroll">
        <Table aria-label="Live feed of uses" data-testid="live-feed">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Applied</Table.Th>
              <Table.Th>User</Table.Th>
              <Table.Th>Feature</Table.Th>
              <Table.Th>Outcome</Table.Th>
              <Table.Th className="num">Cost</Table.Th>
              <Table.Th className="num">Balance</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {feed.rows.length === 0 ? (
              <Table.Tr>
                <Table.Td colSpan={6}>
                  <Text c="dimmed" size="sm">
                    Nothing yet: uses appear here as they are applied.
                  </Text>
                </Table.Td>
              </Table.Tr>
            ) : (
              feed.rows.map((r) => (
                <Table.Tr key={r.idempotencyKey} data-key={r.idempotencyKey} data-committed-at={r.committedAt}>
                  <Table.Td>{utc(r.appliedAt)}</Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/accounts/${encodeURIComponent(r.userId)}`}>
                      {r.userId}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{r.feature}</Table.Td>
                  <Table.Td>
                    {r.status === 'applied' ? (
                      <Badge color="green" variant="light">
                        applied
                      </Badge>
                    ) : (
                      <Badge color="red" variant="light">
                        {r.reason ?? 'rejected'}
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td className="num">{r.cost}</Table.Td>
                  <Table.Td className="num">{r.balanceAfter ?? '—'}</Table.Td>
                </Table.Tr>
              ))
            )}
          </Table.Tbody>
        </Table>
      </div>
    </Section>
  );
}

function NearLimit() {
  const pages = useCursorPages();
  const near = useQuery({
    queryKey: ['near-limit', pages.cursor],
    queryFn: () => get<AccountPage>(`/admin/api/accounts${query({ nearLimit: true, sort: 'percentUsed', limit: 10, cursor: pages.cursor })}`),
  });
  return (
    <Section title="Users near their limit">
      <ErrorNote error={near.error} />
      <Scroll>
        <Table striped aria-label="Users near their limit" data-testid="near-limit" className="nowrap-cells">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>User</Table.Th>
              <Table.Th>Plan</Table.Th>
              <Table.Th className="num">Used</Table.Th>
              <Table.Th className="num">%</Table.Th>
              <Table.Th className="num">Balance</Table.Th>
              <Table.Th>Renews</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {near.data?.accounts.map((u) => (
              <Table.Tr key={u.userId}>
                <Table.Td>
                  <Anchor component={Link} to={`/accounts/${encodeURIComponent(u.userId)}`}>
                    {u.userId}
                  </Anchor>
                </Table.Td>
                <Table.Td>{u.plan}</Table.Td>
                <Table.Td className="num">
                  {u.usedThisPeriod}/{u.allocatedThisPeriod}
                </Table.Td>
                <Table.Td className="num">
                  <Group justify="flex-end" gap={4}>
                    <Badge color={u.percentUsed >= 100 ? 'red' : u.percentUsed >= 95 ? 'orange' : 'yellow'} variant="light">
                      {u.percentUsed}%
                    </Badge>
                  </Group>
                </Table.Td>
                <Table.Td className="num">{u.balance}</Table.Td>
                <Table.Td>{utc(u.periodEnd)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Scroll>
      {near.data && near.data.accounts.length === 0 ? (
        <Text c="dimmed" size="sm">
          No account is at 90% of its allocation.
        </Text>
      ) : null}
      <Pager label="users near their limit" pages={pages} nextCursor={near.data?.nextCursor} />
    </Section>
  );
}
