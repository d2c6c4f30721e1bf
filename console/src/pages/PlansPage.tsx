import { useState } from 'react';
import { Badge, Button, Group, NumberInput, TagsInput, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api';
import type { Plan, PlanList } from '../types';
import { Section } from '../components/Section';
import { ErrorNote } from '../components/ErrorNote';
import { done } from '../components/notify';
import { money } from '../format';

/** Each plan's allocation, rollover, price and the Stripe prices that buy it. A change applies from each account's next period. */
export function PlansPage() {
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => get<PlanList>('/admin/api/plans') });
  return (
    <>
      <Text c="dimmed" size="sm">
        Allocations and rollover follow the plan as it is when a period starts: a change applies from each account's next renewal.
      </Text>
      <ErrorNote error={plans.error} />
      <div className="columns">
        {plans.data?.plans.map((p) => (
          // Keyed by the plan as saved: once a save is read back, the editor starts again from it.
          <PlanEditor key={`${p.id}:${JSON.stringify(p)}`} plan={p} />
        ))}
      </div>
    </>
  );
}

type Draft = { name: string; monthlyTokens: number | string; rolloverMax: number | string; priceCents: number | string; currency: string; stripePrices: string[] };

function PlanEditor({ plan }: { plan: Plan }) {
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(plan);
  const set = <K extends keyof Draft>(k: K) => (v: Draft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const changes: Record<string, unknown> = {};
  if (draft.name !== plan.name) changes.name = draft.name;
  for (const k of ['monthlyTokens', 'rolloverMax', 'priceCents'] as const) if (Number(draft[k]) !== plan[k]) changes[k] = Number(draft[k]);
  if (draft.currency.toLowerCase() !== plan.currency) changes.currency = draft.currency;
  if (JSON.stringify([...draft.stripePrices].sort()) !== JSON.stringify([...plan.stripePrices].sort())) changes.stripePrices = draft.stripePrices;
  const save = useMutation({
    mutationFn: () => api<Plan>('PUT', `/admin/api/plans/${plan.id}`, changes),
    onSuccess: () => {
      done(`${plan.name} saved`);
      void client.invalidateQueries({ queryKey: ['plans'] });
    },
  });
  return (
    <Section
      title={plan.name}
      id={`plan-${plan.id}`}
      actions={
        <Group gap="xs">
          <Badge variant="light">{plan.id}</Badge>
          <Badge variant="outline">
            {money(plan.priceCents, plan.currency)} / {plan.billingInterval}
          </Badge>
        </Group>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
        aria-label={`${plan.name} settings`}
      >
        <div className="form-row">
          <TextInput label="Name" value={draft.name} onChange={(e) => set('name')(e.currentTarget.value)} />
          <NumberInput label="Monthly tokens" min={0} allowDecimal={false} value={draft.monthlyTokens} onChange={set('monthlyTokens')} />
          <NumberInput label="Rollover max" description="unused tokens carried into the next period" min={0} allowDecimal={false} value={draft.rolloverMax} onChange={set('rolloverMax')} />
        </div>
        <div className="form-row">
          <NumberInput label="Price (cents)" min={0} allowDecimal={false} value={draft.priceCents} onChange={set('priceCents')} />
          <TextInput label="Currency" maxLength={3} value={draft.currency} onChange={(e) => set('currency')(e.currentTarget.value)} />
        </div>
        <TagsInput
          mt="sm"
          label="Stripe prices"
          description="price ids (price_…) or lookup keys that buy this plan, each buying one plan; Enter adds one"
          value={draft.stripePrices}
          onChange={set('stripePrices')}
          clearable
        />
        <Group mt="md">
          <Button type="submit" disabled={Object.keys(changes).length === 0} loading={save.isPending}>
            Save {plan.name}
          </Button>
          {Object.keys(changes).length > 0 ? (
            <Text size="sm" c="dimmed">
              changed: {Object.keys(changes).join(', ')}
            </Text>
          ) : null}
        </Group>
      </form>
      <ErrorNote error={save.error} />
    </Section>
  );
}
