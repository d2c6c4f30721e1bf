import { useState } from 'react';
import { Badge, Button, Checkbox, Select, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { get, query } from '../api';
import type { AccountPage, PlanList } from '../types';
import { Section } from '../components/Section';
import { DataTable } from '../components/DataTable';
import { AccountLink } from '../components/AccountLink';
import { ErrorNote } from '../components/ErrorNote';
import { Pager, useCursorPages } from '../components/Pager';
import { utc } from '../format';

/** Find a user: by userId prefix, plan, near their limit; a page at a time. */
export function AccountsPage() {
  const [form, setForm] = useState({ prefix: '', plan: null as string | null, nearLimit: false });
  const [search, setSearch] = useState(form);
  const pages = useCursorPages();
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => get<PlanList>('/admin/api/plans') });
  const accounts = useQuery({
    queryKey: ['accounts', search, pages.cursor],
    queryFn: () =>
      get<AccountPage>(
        `/admin/api/accounts${query({ prefix: search.prefix, plan: search.plan, nearLimit: search.nearLimit || undefined, sort: search.nearLimit ? 'percentUsed' : undefined, limit: 25, cursor: pages.cursor })}`,
      ),
  });
  return (
    <Section title="Accounts">
      <form
        className="form-row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          pages.reset();
          setSearch(form);
        }}
      >
        <TextInput label="User id starts with" value={form.prefix} onChange={(e) => setForm({ ...form, prefix: e.currentTarget.value.trim() })} />
        <Select label="Plan" placeholder="Any plan" clearable data={(plans.data?.plans ?? []).map((p) => ({ value: p.id, label: p.name }))} value={form.plan} onChange={(plan) => setForm({ ...form, plan })} />
        <Checkbox label="Near their limit (90% or more)" checked={form.nearLimit} onChange={(e) => setForm({ ...form, nearLimit: e.currentTarget.checked })} />
        <Button type="submit" className="form-action">
          Search
        </Button>
      </form>
      <ErrorNote error={accounts.error} />
      <DataTable
        label="Accounts found"
        testId="accounts"
        className="nowrap-cells"
        rows={accounts.data?.accounts}
        rowKey={(a) => a.userId}
        empty="No account matches."
        columns={[
          { header: 'User', cell: (a) => <AccountLink userId={a.userId} /> },
          { header: 'Plan', cell: (a) => a.plan },
          { header: 'Balance', cell: (a) => a.balance, num: true },
          { header: 'Held', cell: (a) => a.held, num: true },
          {
            header: 'Used',
            num: true,
            cell: (a) => (
              <>
                {a.usedThisPeriod}/{a.allocatedThisPeriod}{' '}
                {a.percentUsed >= 90 ? (
                  <Badge size="xs" color="orange" variant="light">
                    {a.percentUsed}%
                  </Badge>
                ) : null}
              </>
            ),
          },
          { header: 'Period ends', cell: (a) => utc(a.periodEnd) },
        ]}
      />
      <Pager label="accounts" pages={pages} nextCursor={accounts.data?.nextCursor} />
    </Section>
  );
}
