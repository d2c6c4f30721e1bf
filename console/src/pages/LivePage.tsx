import { useCallback, useRef } from 'react';
import { Anchor, Badge, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { get, query } from '../api';
import type { AccountPage, Alert, Analytics, QueueHealth } from '../types';
import { Section } from '../components/Section';
import { DataTable } from '../components/DataTable';
import { AccountLink } from '../components/AccountLink';
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
          <DataTable
            label="Top features by tokens"
            testId="top-features"
            rows={a?.mostUsedFeatures.byTokens}
            rowKey={(f) => f.feature}
            columns={[
              { header: 'Feature', cell: (f) => f.name },
              { header: 'Uses', cell: (f) => f.uses, num: true },
              { header: 'Tokens', cell: (f) => f.tokens, num: true },
            ]}
          />
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
      <DataTable
        label="Live feed of uses"
        testId="live-feed"
        className="live-feed"
        striped={false}
        rows={feed.rows}
        rowKey={(r) => r.idempotencyKey}
        rowProps={(r) => ({ 'data-key': r.idempotencyKey, 'data-committed-at': r.committedAt })}
        empty="Nothing yet: uses appear here as they are applied."
        columns={[
          { header: 'Applied', cell: (r) => utc(r.appliedAt) },
          { header: 'User', cell: (r) => <AccountLink userId={r.userId} /> },
          { header: 'Feature', cell: (r) => r.feature },
          {
            header: 'Outcome',
            cell: (r) => (
              <Badge color={r.status === 'applied' ? 'green' : 'red'} variant="light">
                {r.status === 'applied' ? 'applied' : (r.reason ?? 'rejected')}
              </Badge>
            ),
          },
          { header: 'Cost', cell: (r) => r.cost, num: true },
          { header: 'Balance', cell: (r) => r.balanceAfter ?? '—', num: true },
        ]}
      />
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
      <DataTable
        label="Users near their limit"
        testId="near-limit"
        className="nowrap-cells"
        rows={near.data?.accounts}
        rowKey={(u) => u.userId}
        empty="No account is at 90% of its allocation."
        columns={[
          { header: 'User', cell: (u) => <AccountLink userId={u.userId} /> },
          { header: 'Plan', cell: (u) => u.plan },
          { header: 'Used', cell: (u) => `${u.usedThisPeriod}/${u.allocatedThisPeriod}`, num: true },
          {
            header: '%',
            num: true,
            cell: (u) => (
              <Badge color={u.percentUsed >= 100 ? 'red' : u.percentUsed >= 95 ? 'orange' : 'yellow'} variant="light">
                {u.percentUsed}%
              </Badge>
            ),
          },
          { header: 'Balance', cell: (u) => u.balance, num: true },
          { header: 'Renews', cell: (u) => utc(u.periodEnd) },
        ]}
      />
      <Pager label="users near their limit" pages={pages} nextCursor={near.data?.nextCursor} />
    </Section>
  );
}
