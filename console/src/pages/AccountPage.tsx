import { useState } from 'react';
import { Badge, Button, Group, NumberInput, Progress, Select, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api, get, query } from '../api';
import type { AccountOverview, LedgerPage, OpenHolds, PlanChangeAnswer, PlanList } from '../types';
import { Section } from '../components/Section';
import { DataTable } from '../components/DataTable';
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
              <Row label="In grace until" value={utc(a.billing.graceUntil)} />
              <Row
                label="Stripe subscription"
                value={
                  a.billing.subscription
                    ? `${a.billing.subscription.id} · ${a.billing.subscription.status ?? 'status unknown'}${a.billing.subscription.plan ? ` · ${a.billing.subscription.plan}` : ''}${
                        a.billing.subscription.currentPeriod ? ` · ${utc(a.billing.subscription.currentPeriod.start)} → ${utc(a.billing.subscription.currentPeriod.end)}` : ''
                      }${a.billing.subscription.cancelAtPeriodEnd ? ' · cancels at period end' : ''}`
                    : '—'
                }
              />
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
        <DataTable
          label="Payments"
          rows={a.payments}
          rowKey={(p) => p.id}
          empty="No payment."
          columns={[
            { header: 'Paid', cell: (p) => utc(p.paidAt) },
            { header: 'Kind', cell: (p) => `${p.kind === 'topup' ? 'token pack' : `${p.kind} ${p.plan ?? ''}`}${p.voided ? ' (voided)' : ''}` },
            { header: 'Amount', cell: (p) => money(p.amountCents, p.currency), num: true },
            { header: 'Tokens', cell: (p) => p.tokens, num: true },
            { header: 'Period', cell: (p) => (p.period ? `${utc(p.period.start)} → ${utc(p.period.end)}` : '—') },
            {
              header: 'Refunded',
              cell: (p) => (p.refundedCents ? `${money(p.refundedCents, p.currency)} (−${p.tokensReversed + p.tokensCancelled} tokens)` : '—'),
              num: true,
            },
            { header: 'Stripe event', cell: (p) => <code>{p.stripeEventId}</code> },
          ]}
        />
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
      <DataTable
        label="Open holds"
        testId="holds"
        rows={holds.data?.holds}
        rowKey={(h) => h.reservationId}
        empty="No open hold."
        columns={[
          { header: 'Reservation', cell: (h) => <code>{h.reservationId.slice(0, 8)}</code> },
          { header: 'Feature', cell: (h) => h.feature },
          { header: 'Cost', cell: (h) => h.cost, num: true },
          { header: 'Expires', cell: (h) => utc(h.expiresAt) },
          {
            header: '',
            cell: (h) => (
              <Button size="xs" variant="light" color="orange" onClick={() => release.mutate(h.reservationId)} aria-label={`Release hold ${h.reservationId}`}>
                Release
              </Button>
            ),
          },
        ]}
      />
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
      <DataTable
        label="Ledger"
        testId="ledger"
        rows={ledger.data?.entries}
        rowKey={(e) => e.id}
        rowProps={(e) => ({ 'data-entry-kind': e.kind })}
        columns={[
          { header: 'When', cell: (e) => utc(e.occurredAt) },
          {
            header: 'Kind',
            cell: (e) => (
              <Badge variant="light" color={e.amount > 0 ? 'green' : e.amount < 0 ? 'red' : 'gray'}>
                {e.kind}
              </Badge>
            ),
          },
          { header: 'Amount', cell: (e) => (e.amount > 0 ? `+${e.amount}` : e.amount), num: true },
          { header: 'Balance after', cell: (e) => e.balanceAfter, num: true },
          { header: 'Held after', cell: (e) => e.heldAfter, num: true },
          { header: 'What', cell: describe },
        ]}
      />
      <Pager label="ledger" pages={pages} nextCursor={ledger.data?.nextCursor} />
    </Section>
  );
}

function describe(e: LedgerPage['entries'][number]): string {
  const reason = (e.metadata as { reason?: string } | null)?.reason;
  const parts = [e.feature, e.source, reason, e.idempotencyKey].filter(Boolean);
  return parts.join(' · ') || '—';
}
