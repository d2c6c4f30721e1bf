import { useState } from 'react';
import { Anchor, Badge, Button, Checkbox, Select, Table, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get, query } from '../api';
import type { AccountPage, PlanList } from '../types';
import { Section, Scroll } from '../components/Section';
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
      <Scroll>
        <Table striped mt="md" aria-label="Accounts found" data-testid="accounts" className="nowrap-cells">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>User</Table.Th>
              <Table.Th>Plan</Table.Th>
              <Table.Th className="num">Balance</Table.Th>
              <Table.Th className="num">Held</Table.Th>
              <Table.Th className="num">Used</Table.Th>
              <Table.Th>Period ends</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {accounts.data?.accounts.map((a) => (
              <Table.Tr key={a.userId}>
                <Table.Td>
                  <Anchor component={Link} to={`/accounts/${encodeURIComponent(a.userId)}`}>
                    {a.userId}
                  </Anchor>
                </Table.Td>
                <Table.Td>{a.plan}</Table.Td>
                <Table.Td className="num">{a.balance}</Table.Td>
                <Table.Td className="num">{a.held}</Table.Td>
                <Table.Td className="num">
                  {a.usedThisPeriod}/{a.allocatedThisPeriod}{' '}
                  {a.percentUsed >= 90 ? (
                    <Badge size="xs" color="orange" variant="light">
                      {a.percentUsed}%
                    </Badge>
                  ) : null}
                </Table.Td>
                <Table.Td>{utc(a.periodEnd)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Scroll>
      {accounts.data && accounts.data.accounts.length === 0 ? <Text c="dimmed">No account matches.</Text> : null}
      <Pager label="accounts" pages={pages} nextCursor={accounts.data?.nextCursor} />
    </Section>
  );
}
