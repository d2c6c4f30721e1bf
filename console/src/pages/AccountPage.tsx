import { useState } from 'react';
import { Badge, Button, Group, NumberInput, Progress, Select, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api, get, query } from '../api';
import type { AccountOverview, LedgerPage, OpenHolds, PlanChangeAnswer, PlanList } from '../types';
import { Section, Scroll } from '../components/Section';
import { StatCard } from '../components/StatCard';
import { ErrorNote } from '../components/ErrorNote';
import { Pager, useCursorPages } from '../components/Pager';
import { done } from '../components/notify';
import { fromUtcInput, money, utc } from '../format';

/** One account: what the user sees, billing and payments, the ledger, open holds; grant, release, change plan. */
export function AccountPage() {
  const userId = useParams().userId!;
  const path = `/admin/api/accounts/${encodeURIComponent(userId)}`;
  const account = useQuery({ queryKey: ['account', userId], queryFn: () => get<AccountOverview>(path) });
  if (account.error) return <ErrorNote error={account.error} title={`Account ${userId}`} />;
  const a = account.data;
  if (!a) return <Text c="dimmed">loading…</Text>;
  return (
    <>
      <Group gap="sm">
        <Text component="h2" fw={700} size="xl" m={0}>
          {a.userId}
        </Text>
        <Badge size="lg" variant="light" data-testid="account-plan">
          {a.plan.name}
        </Badge>
        {a.warning ? (
          <Badge size="lg" color="orange">
            {a.warning.message}
          </Badge>
        ) : null}
      </Group>
      <div className="stats">
        <StatCard label="Balance" value={a.balance} hint="spendable now" testId="account-balance" />
        <StatCard label="Held" value={a.held} hint="under open holds" testId="account-held" />
        <StatCard
          label="Used this period"
          value={`${a.usedThisPeriod} / ${a.allocatedThisPeriod}`}
          hint={<Progress value={Math.min(100, a.percentUsed)} aria-label={`${a.percentUsed} percent used`} color={a.percentUsed >= 90 ? 'orange' : 'indigo'} />}
        />
        <StatCard label="Period" value={<Text component="span" size="sm">{utc(a.period.start)} → {utc(a.period.end)}</Text>} hint={`account opened ${utc(a.createdAt)}`} />
      </div>
      <div className="columns">
        <Section title="Billing and loyalty">
          <Table aria-label="Billing and loyalty" variant="vertical" layout="fixed">
            <Table.Tbody>
              <Row label="Billing status" value={a.billing.status ?? 'no payment recorded'} />
              <Row label="Paid through" value={utc(a.billing.paidThrough)} />
              <Row label="Pending plan" value={a.billing.pendingPlan ?? '—'} />
              <Row label="Lapse reason" value={a.billing.lapseReason ?? '—'} />
              <Row label="Stripe subscription" value={a.billing.stripeSubscriptionId ?? '—'} />
              <Row label="Loyalty" value={`${a.loyalty.months} paid months · ${a.loyalty.bonusPercent}% bonus${a.loyalty.next ? ` · next ${a.loyalty.next.bonusPercent}% at ${a.loyalty.next.months} months` : ''}`} />
            </Table.Tbody>
          </Table>
        </Section>
        <div className="stack">
          <GrantTokens userId={userId} />
          <ChangePlan account={a} />
        </div>
      </div>
      <Holds userId={userId} />
      <Ledger userId={userId} />
      <Section title="Payments">
        <Scroll>
          <Table striped aria-label="Payments">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Paid</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th className="num">Amount</Table.Th>
                <Table.Th className="num">Tokens</Table.Th>
                <Table.Th>Period</Table.Th>
                <Table.Th className="num">Refunded</Table.Th>
                <Table.Th>Stripe event</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {a.payments.map((p) => (
                <Table.Tr key={p.id}>
                  <Table.Td>{utc(p.paidAt)}</Table.Td>
                  <Table.Td>{p.kind === 'plan' ? `plan ${p.plan}` : 'token pack'}</Table.Td>
                  <Table.Td className="num">{money(p.amountCents, p.currency)}</Table.Td>
                  <Table.Td className="num">{p.tokens}</Table.Td>
                  <Table.Td>{p.period ? `${utc(p.period.start)} → ${utc(p.period.end)}` : '—'}</Table.Td>
                  <Table.Td className="num">{p.refundedCents ? `${money(p.refundedCents, p.currency)} (−${p.tokensReversed} tokens)` : '—'}</Table.Td>
                  <Table.Td>
                    <code>{p.stripeEventId}</code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Scroll>
        {a.payments.length === 0 ? <Text c="dimmed">No payment.</Text> : null}
      </Section>
    </>
  );
}

function Row({ label, value }: { label: string; value: string }) {
  return (
    <Table.Tr>
      <Table.Th w={160}>{label}</Table.Th>
      <Table.Td>{value}</Table.Td>
    </Table.Tr>
  );
}

function useRefreshAccount(userId: string) {
  const client = useQueryClient();
  return () => {
    for (const key of ['account', 'ledger', 'holds']) void client.invalidateQueries({ queryKey: [key, userId] });
    void client.invalidateQueries({ queryKey: ['accounts'] });
  };
}

function GrantTokens({ userId }: { userId: string }) {
  const refresh = useRefreshAccount(userId);
  const [tokens, setTokens] = useState<number | string>('');
  const [reason, setReason] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const grant = useMutation({
    mutationFn: () =>
      api<{ grantId: number | null; balance: number }>('POST', `/admin/api/accounts/${encodeURIComponent(userId)}/grants`, {
        tokens: Number(tokens),
        reason,
        ...(expiresAt ? { expiresAt: fromUtcInput(expiresAt) ?? expiresAt } : {}),
      }),
    onSuccess: (r) => {
      done(`granted ${tokens} tokens to ${userId}: balance ${r.balance}`);
      setTokens('');
      setReason('');
      setExpiresAt('');
      refresh();
    },
  });
  return (
    <Section title="Grant tokens">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          grant.mutate();
        }}
      >
        <div className="form-row">
          <NumberInput label="Tokens" min={1} allowDecimal={false} value={tokens} onChange={setTokens} required />
          <TextInput label="Reason" placeholder="support ticket 42" value={reason} onChange={(e) => setReason(e.currentTarget.value)} required />
        </div>
        <div className="form-row">
          <TextInput type="datetime-local" label="Expires at (UTC)" description="empty: never" value={expiresAt} onChange={(e) => setExpiresAt(e.currentTarget.value)} />
          <Button type="submit" className="form-action" loading={grant.isPending}>
            Grant tokens
          </Button>
        </div>
      </form>
      <ErrorNote error={grant.error} />
    </Section>
  );
}

function ChangePlan({ account }: { account: AccountOverview }) {
  const refresh = useRefreshAccount(account.userId);
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => get<PlanList>('/admin/api/plans') });
  const [plan, setPlan] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: () => api<PlanChangeAnswer>('PUT', `/admin/api/accounts/${encodeURIComponent(account.userId)}/plan`, { plan }),
    onSuccess: (r) => {
      done(
        r.change === 'upgrade'
          ? `upgraded to ${r.account.plan.name} now, +${r.tokensGranted} tokens for the rest of the period`
          : r.change === 'downgrade'
            ? `moves to ${r.pendingPlan} at the end of the period (${utc(r.effectiveAt)})`
            : 'no change (a pending downgrade, if any, is cancelled)',
      );
      refresh();
    },
  });
  return (
    <Section title="Change plan">
      <Text size="sm" c="dimmed" mb="xs">
        An upgrade takes effect now with the prorated difference; a downgrade at the end of the period.
      </Text>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate();
        }}
      >
        <Select label="New plan" placeholder="choose a plan" data={(plans.data?.plans ?? []).map((p) => ({ value: p.id, label: `${p.name} (${p.monthlyTokens}/month)` }))} value={plan} onChange={setPlan} />
        <Button type="submit" className="form-action" disabled={!plan} loading={change.isPending}>
          Change plan
        </Button>
      </form>
      <ErrorNote error={change.error} />
    </Section>
  );
}

function Holds({ userId }: { userId: string }) {
  const refresh = useRefreshAccount(userId);
  const holds = useQuery({ queryKey: ['holds', userId], queryFn: () => get<OpenHolds>(`/admin/api/accounts/${encodeURIComponent(userId)}/holds`) });
  const release = useMutation({
    mutationFn: (id: string) => api('DELETE', `/admin/api/accounts/${encodeURIComponent(userId)}/holds/${id}`),
    onSuccess: () => {
      done('hold released');
      refresh();
    },
  });
  return (
    <Section title="Open holds">
      <ErrorNote error={holds.error ?? release.error} />
      <Scroll>
        <Table striped aria-label="Open holds" data-testid="holds">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Reservation</Table.Th>
              <Table.Th>Feature</Table.Th>
              <Table.Th className="num">Cost</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {holds.data?.holds.map((h) => (
              <Table.Tr key={h.reservationId}>
                <Table.Td>
                  <code>{h.reservationId.slice(0, 8)}</code>
                </Table.Td>
                <Table.Td>{h.feature}</Table.Td>
                <Table.Td className="num">{h.cost}</Table.Td>
                <Table.Td>{utc(h.expiresAt)}</Table.Td>
                <Table.Td>
                  <Button size="xs" variant="light" color="orange" onClick={() => release.mutate(h.reservationId)} aria-label={`Release hold ${h.reservationId}`}>
                    Release
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Scroll>
      {holds.data && holds.data.holds.length === 0 ? <Text c="dimmed">No open hold.</Text> : null}
    </Section>
  );
}

function Ledger({ userId }: { userId: string }) {
  const pages = useCursorPages();
  const ledger = useQuery({
    queryKey: ['ledger', userId, pages.cursor],
    queryFn: () => get<LedgerPage>(`/admin/api/accounts/${encodeURIComponent(userId)}/ledger${query({ limit: 20, cursor: pages.cursor })}`),
  });
  return (
    <Section title="Ledger">
      <Text size="sm" c="dimmed" mb="xs">
        Newest first: every grant, use, hold, release, expiry and reversal with the balance after it.
      </Text>
      <ErrorNote error={ledger.error} />
      <Scroll>
        <Table striped aria-label="Ledger" data-testid="ledger">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th className="num">Amount</Table.Th>
              <Table.Th className="num">Balance after</Table.Th>
              <Table.Th className="num">Held after</Table.Th>
              <Table.Th>What</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {ledger.data?.entries.map((e) => (
              <Table.Tr key={e.id} data-entry-kind={e.kind}>
                <Table.Td>{utc(e.occurredAt)}</Table.Td>
                <Table.Td>
                  <Badge variant="light" color={e.amount > 0 ? 'green' : e.amount < 0 ? 'red' : 'gray'}>
                    {e.kind}
                  </Badge>
                </Table.Td>
                <Table.Td className="num">{e.amount > 0 ? `+${e.amount}` : e.amount}</Table.Td>
                <Table.Td className="num">{e.balanceAfter}</Table.Td>
                <Table.Td className="num">{e.heldAfter}</Table.Td>
                <Table.Td>{describe(e)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Scroll>
      <Pager label="ledger" pages={pages} nextCursor={ledger.data?.nextCursor} />
    </Section>
  );
}

function describe(e: LedgerPage['entries'][number]): string {
  const reason = (e.metadata as { reason?: string } | null)?.reason;
  const parts = [e.feature, e.source, reason, e.idempotencyKey].filter(Boolean);
  return parts.join(' · ') || '—';
}
