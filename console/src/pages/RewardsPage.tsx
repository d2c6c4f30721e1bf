import { useState } from 'react';
import { Badge, Button, Checkbox, Group, MultiSelect, NumberInput, TagsInput, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api';
import type { Campaign, FeatureList, LoyaltyTier, PlanList, PricingRule } from '../types';
import { Section } from '../components/Section';
import { DataTable } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { done } from '../components/notify';
import { engineNow, useEngineNow } from '../hooks/useEngineNow';
import { fromUtcInput, tiers, toUtcInput, utc } from '../format';

/** Pricing rules, seasonal campaigns and loyalty tiers: list, create, edit, end. */
export function RewardsPage() {
  return (
    <>
      <PricingRules />
      <Campaigns />
      <Loyalty />
    </>
  );
}

const num = (v: number | string): number | undefined => (v === '' || v === undefined ? undefined : Number(v));

type RuleDraft = {
  id: string;
  features: string[];
  tiers: string[];
  multiplier: number | string;
  demand: boolean;
  windowMinutes: number | string;
  baselineUsesPerMinute: number | string;
  maxMultiplier: number | string;
  startsAt: string;
  endsAt: string;
  minCost: number | string;
  maxCost: number | string;
};

const emptyRule: RuleDraft = { id: '', features: [], tiers: [], multiplier: '', demand: false, windowMinutes: 60, baselineUsesPerMinute: 1, maxMultiplier: 2, startsAt: '', endsAt: '', minCost: '', maxCost: '' };

function ruleDraft(r: PricingRule): RuleDraft {
  return {
    id: r.id,
    features: r.match.features ?? [],
    tiers: r.match.tiers ?? [],
    multiplier: r.multiplier ?? '',
    demand: r.demand !== undefined,
    windowMinutes: r.demand?.windowMinutes ?? 60,
    baselineUsesPerMinute: r.demand?.baselineUsesPerMinute ?? 1,
    maxMultiplier: r.demand?.maxMultiplier ?? 2,
    startsAt: toUtcInput(r.startsAt),
    endsAt: toUtcInput(r.endsAt),
    minCost: r.minCost ?? '',
    maxCost: r.maxCost ?? '',
  };
}

function ruleBody(d: RuleDraft) {
  return {
    match: { ...(d.features.length ? { features: d.features } : {}), ...(d.tiers.length ? { tiers: d.tiers } : {}) },
    ...(num(d.multiplier) !== undefined ? { multiplier: num(d.multiplier) } : {}),
    ...(d.demand ? { demand: { windowMinutes: num(d.windowMinutes), baselineUsesPerMinute: num(d.baselineUsesPerMinute), maxMultiplier: num(d.maxMultiplier) } } : {}),
    ...(d.startsAt ? { startsAt: fromUtcInput(d.startsAt) } : {}),
    ...(d.endsAt ? { endsAt: fromUtcInput(d.endsAt) } : {}),
    ...(num(d.minCost) !== undefined ? { minCost: num(d.minCost) } : {}),
    ...(num(d.maxCost) !== undefined ? { maxCost: num(d.maxCost) } : {}),
  };
}

function PricingRules() {
  const client = useQueryClient();
  const rules = useQuery({ queryKey: ['rules'], queryFn: () => get<{ rules: PricingRule[] }>('/admin/api/pricing-rules') });
  const features = useQuery({ queryKey: ['features', '', null], queryFn: () => get<FeatureList>('/admin/api/features') });
  const [draft, setDraft] = useState<RuleDraft>(emptyRule);
  const set = <K extends keyof RuleDraft>(k: K) => (v: RuleDraft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['rules'] });
    void client.invalidateQueries({ queryKey: ['features'] });
  };
  const save = useMutation({
    mutationFn: () => api<PricingRule>('PUT', `/admin/api/pricing-rules/${encodeURIComponent(draft.id)}`, ruleBody(draft)),
    onSuccess: (r) => {
      done(`pricing rule ${r.id} saved (version ${r.version})`);
      setDraft(emptyRule);
      refresh();
    },
  });
  const end = useMutation({
    mutationFn: (id: string) => api('DELETE', `/admin/api/pricing-rules/${encodeURIComponent(id)}`),
    onSuccess: (_r, id) => {
      done(`pricing rule ${id} ended`);
      refresh();
    },
  });
  return (
    <Section title="Pricing rules">
      <Text size="sm" c="dimmed" mb="xs">
        A rule scales the cost of what it matches, by a fixed multiplier in its window or with recent demand; uses before a change keep their price.
      </Text>
      <ErrorNote error={rules.error ?? end.error} />
      <DataTable
        label="Pricing rules"
        testId="rules"
        rows={rules.data?.rules}
        rowKey={(r) => r.id}
        empty="No rule in force."
        columns={[
          {
            header: 'Rule',
            cell: (r) => (
              <>
                {r.id} <Text span size="xs" c="dimmed">v{r.version}</Text>
              </>
            ),
          },
          { header: 'Matches', cell: (r) => [...(r.match.features ?? []), ...(r.match.tiers ?? [])].join(', ') },
          {
            header: 'Scaling',
            cell: (r) =>
              [r.multiplier ? `×${r.multiplier}` : null, r.demand ? `demand up to ×${r.demand.maxMultiplier} (${r.demand.baselineUsesPerMinute}/min over ${r.demand.windowMinutes} min)` : null]
                .filter(Boolean)
                .join(' · '),
          },
          { header: 'Window', cell: (r) => (r.startsAt || r.endsAt ? `${utc(r.startsAt)} → ${utc(r.endsAt)}` : 'always') },
          { header: 'Bounds', cell: (r) => (r.minCost !== undefined || r.maxCost !== undefined ? `${r.minCost ?? 0}–${r.maxCost ?? '∞'}` : '—') },
          {
            header: '',
            cell: (r) => (
              <Group gap="xs" wrap="nowrap">
                <Button size="xs" variant="light" onClick={() => setDraft(ruleDraft(r))} aria-label={`Edit rule ${r.id}`}>
                  Edit
                </Button>
                <Button size="xs" variant="light" color="red" onClick={() => end.mutate(r.id)} aria-label={`End rule ${r.id}`}>
                  End
                </Button>
              </Group>
            ),
          },
        ]}
      />
      <form
        aria-label="Pricing rule"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Text fw={500} mt="md" mb="xs">
          {rules.data?.rules.some((r) => r.id === draft.id) ? `Edit rule ${draft.id}` : 'New rule'}
        </Text>
        <div className="form-row">
          <TextInput label="Rule id" value={draft.id} onChange={(e) => set('id')(e.currentTarget.value)} required />
          <TagsInput label="Features" data={(features.data?.features ?? []).map((f) => f.key)} value={draft.features} onChange={set('features')} />
          <MultiSelect label="Tiers" data={[...tiers]} value={draft.tiers} onChange={set('tiers')} />
        </div>
        <div className="form-row">
          <NumberInput label="Multiplier" min={0} decimalScale={3} value={draft.multiplier} onChange={set('multiplier')} />
          <NumberInput label="Min cost" min={0} allowDecimal={false} value={draft.minCost} onChange={set('minCost')} />
          <NumberInput label="Max cost" min={0} allowDecimal={false} value={draft.maxCost} onChange={set('maxCost')} />
        </div>
        <div className="form-row">
          <TextInput type="datetime-local" label="Starts at (UTC)" value={draft.startsAt} onChange={(e) => set('startsAt')(e.currentTarget.value)} />
          <TextInput type="datetime-local" label="Ends at (UTC)" value={draft.endsAt} onChange={(e) => set('endsAt')(e.currentTarget.value)} />
        </div>
        <Checkbox mt="sm" label="Demand pricing" checked={draft.demand} onChange={(e) => set('demand')(e.currentTarget.checked)} />
        {draft.demand ? (
          <div className="form-row">
            <NumberInput label="Window (minutes)" min={1} allowDecimal={false} value={draft.windowMinutes} onChange={set('windowMinutes')} />
            <NumberInput label="Baseline uses per minute" min={0} decimalScale={3} value={draft.baselineUsesPerMinute} onChange={set('baselineUsesPerMinute')} />
            <NumberInput label="Max multiplier" min={1} decimalScale={3} value={draft.maxMultiplier} onChange={set('maxMultiplier')} />
          </div>
        ) : null}
        <Group mt="md">
          <Button type="submit" loading={save.isPending}>
            Save rule
          </Button>
          <Button variant="default" onClick={() => setDraft(emptyRule)}>
            Clear
          </Button>
        </Group>
      </form>
      <ErrorNote error={save.error} />
    </Section>
  );
}

type CampaignDraft = { id: string; name: string; startsAt: string; endsAt: string; plans: string[]; tokens: number | string; percent: number | string; expiresAt: string };
const emptyCampaign: CampaignDraft = { id: '', name: '', startsAt: '', endsAt: '', plans: [], tokens: '', percent: '', expiresAt: '' };

function campaignDraft(c: Campaign): CampaignDraft {
  return { id: c.id, name: c.name, startsAt: toUtcInput(c.startsAt), endsAt: toUtcInput(c.endsAt), plans: c.plans ?? [], tokens: c.bonus.tokens ?? '', percent: c.bonus.percentOfAllocation ?? '', expiresAt: toUtcInput(c.expiresAt) };
}

function campaignBody(d: CampaignDraft) {
  return {
    name: d.name,
    startsAt: fromUtcInput(d.startsAt),
    endsAt: fromUtcInput(d.endsAt),
    ...(d.plans.length ? { plans: d.plans } : {}),
    bonus: { ...(num(d.tokens) !== undefined ? { tokens: num(d.tokens) } : {}), ...(num(d.percent) !== undefined ? { percentOfAllocation: num(d.percent) } : {}) },
    ...(d.expiresAt ? { expiresAt: fromUtcInput(d.expiresAt) } : {}),
  };
}

function Campaigns() {
  const client = useQueryClient();
  const now = useEngineNow();
  const campaigns = useQuery({ queryKey: ['campaigns'], queryFn: () => get<{ campaigns: Campaign[] }>('/admin/api/campaigns') });
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => get<PlanList>('/admin/api/plans') });
  const [draft, setDraft] = useState<CampaignDraft>(emptyCampaign);
  const set = <K extends keyof CampaignDraft>(k: K) => (v: CampaignDraft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const saved = (c: Campaign) => {
    done(`campaign ${c.id} saved: ${utc(c.startsAt)} → ${utc(c.endsAt)}`);
    void client.invalidateQueries({ queryKey: ['campaigns'] });
    void client.invalidateQueries({ queryKey: ['clock'] });
  };
  const save = useMutation({
    mutationFn: (c: { id: string; body: unknown }) => api<Campaign>('PUT', `/admin/api/campaigns/${encodeURIComponent(c.id)}`, c.body),
    onSuccess: (c) => {
      saved(c);
      setDraft(emptyCampaign);
    },
  });
  // Ending is the same campaign with its end moved to the engine's now.
  const end = useMutation({
    mutationFn: async ({ id, ...c }: Campaign) => api<Campaign>('PUT', `/admin/api/campaigns/${encodeURIComponent(id)}`, { ...c, endsAt: (await engineNow()).toISOString() }),
    onSuccess: saved,
  });
  const state = (c: Campaign) => {
    const t = now.getTime();
    return t < Date.parse(c.startsAt) ? 'upcoming' : t < Date.parse(c.endsAt) ? 'running' : 'ended';
  };
  return (
    <Section title="Campaigns">
      <Text size="sm" c="dimmed" mb="xs">
        A seasonal bonus: every account on an eligible plan, active in the window, receives it once.
      </Text>
      <ErrorNote error={campaigns.error ?? end.error} />
      <DataTable
        label="Campaigns"
        testId="campaigns"
        rows={campaigns.data?.campaigns}
        rowKey={(c) => c.id}
        rowProps={(c) => ({ 'data-campaign': c.id })}
        empty="No campaign."
        columns={[
          {
            header: 'Campaign',
            cell: (c) => (
              <>
                {c.name} <Text span size="xs" c="dimmed">{c.id}</Text>
              </>
            ),
          },
          { header: 'Window', cell: (c) => `${utc(c.startsAt)} → ${utc(c.endsAt)}` },
          { header: 'Plans', cell: (c) => c.plans?.join(', ') ?? 'all plans' },
          {
            header: 'Bonus',
            cell: (c) => [c.bonus.tokens ? `${c.bonus.tokens} tokens` : null, c.bonus.percentOfAllocation ? `${c.bonus.percentOfAllocation}% of allocation` : null].filter(Boolean).join(' + '),
          },
          {
            header: 'State',
            className: 'nowrap',
            cell: (c) => (
              <Badge variant="light" color={state(c) === 'running' ? 'green' : state(c) === 'upcoming' ? 'blue' : 'gray'}>
                {state(c)}
              </Badge>
            ),
          },
          {
            header: '',
            cell: (c) => (
              <Group gap="xs" wrap="nowrap">
                <Button size="xs" variant="light" aria-label={`Edit campaign ${c.id}`} onClick={() => setDraft(campaignDraft(c))}>
                  Edit
                </Button>
                {state(c) === 'running' ? (
                  <Button size="xs" variant="light" color="red" aria-label={`End campaign ${c.id} now`} onClick={() => end.mutate(c)}>
                    End now
                  </Button>
                ) : null}
              </Group>
            ),
          },
        ]}
      />
      <form
        aria-label="Campaign"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ id: draft.id, body: campaignBody(draft) });
        }}
      >
        <Text fw={500} mt="md" mb="xs">
          {campaigns.data?.campaigns.some((c) => c.id === draft.id) ? `Edit campaign ${draft.id}` : 'New campaign'}
        </Text>
        <div className="form-row">
          <TextInput label="Campaign id" value={draft.id} onChange={(e) => set('id')(e.currentTarget.value)} required />
          <TextInput label="Campaign name" value={draft.name} onChange={(e) => set('name')(e.currentTarget.value)} required />
          <MultiSelect label="Eligible plans" placeholder="all plans" data={(plans.data?.plans ?? []).map((p) => ({ value: p.id, label: p.name }))} value={draft.plans} onChange={set('plans')} />
        </div>
        <div className="form-row">
          <TextInput type="datetime-local" label="Campaign starts at (UTC)" value={draft.startsAt} onChange={(e) => set('startsAt')(e.currentTarget.value)} required />
          <TextInput type="datetime-local" label="Campaign ends at (UTC)" value={draft.endsAt} onChange={(e) => set('endsAt')(e.currentTarget.value)} required />
          <TextInput type="datetime-local" label="Bonus expires at (UTC)" description="empty: with the period" value={draft.expiresAt} onChange={(e) => set('expiresAt')(e.currentTarget.value)} />
        </div>
        <div className="form-row">
          <NumberInput label="Bonus tokens" min={1} allowDecimal={false} value={draft.tokens} onChange={set('tokens')} />
          <NumberInput label="Bonus percent of allocation" min={1} allowDecimal={false} value={draft.percent} onChange={set('percent')} />
        </div>
        <Group mt="md">
          <Button type="submit" loading={save.isPending}>
            Save campaign
          </Button>
          <Button variant="default" onClick={() => setDraft(emptyCampaign)}>
            Clear
          </Button>
        </Group>
      </form>
      <ErrorNote error={save.error} />
    </Section>
  );
}

function Loyalty() {
  const client = useQueryClient();
  const loyalty = useQuery({ queryKey: ['loyalty'], queryFn: () => get<{ tiers: LoyaltyTier[] }>('/admin/api/loyalty') });
  const [draft, setDraft] = useState<Array<{ months: number | string; bonusPercent: number | string }> | null>(null);
  const rows = draft ?? loyalty.data?.tiers ?? [];
  const edit = (i: number, k: 'months' | 'bonusPercent', v: number | string) => setDraft(rows.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  const save = useMutation({
    mutationFn: () => api<{ tiers: LoyaltyTier[] }>('PUT', '/admin/api/loyalty', { tiers: rows.map((r) => ({ months: Number(r.months), bonusPercent: Number(r.bonusPercent) })) }),
    onSuccess: (r) => {
      done(`loyalty tiers saved: ${r.tiers.map((t) => `${t.months} months → ${t.bonusPercent}%`).join(', ') || 'none'}`);
      setDraft(null);
      void client.invalidateQueries({ queryKey: ['loyalty'] });
    },
  });
  return (
    <Section title="Loyalty tiers">
      <Text size="sm" c="dimmed" mb="xs">
        At each renewal of a paid plan, an account with that many consecutive paid months receives that percent of its allocation as a bonus.
      </Text>
      <ErrorNote error={loyalty.error} />
      <form
        aria-label="Loyalty tiers"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <DataTable
          label="Loyalty tiers"
          testId="loyalty"
          striped={false}
          rows={rows.map((r, i) => ({ ...r, i }))}
          rowKey={(r) => r.i}
          empty="No loyalty tier: renewals grant no loyalty bonus."
          columns={[
            {
              header: 'Consecutive paid months',
              cell: (r) => <NumberInput aria-label={`Months of tier ${r.i + 1}`} min={1} allowDecimal={false} value={r.months} onChange={(v) => edit(r.i, 'months', v)} />,
            },
            {
              header: 'Bonus percent',
              cell: (r) => <NumberInput aria-label={`Bonus percent of tier ${r.i + 1}`} min={0} allowDecimal={false} value={r.bonusPercent} onChange={(v) => edit(r.i, 'bonusPercent', v)} />,
            },
            {
              header: '',
              cell: (r) => (
                <Button size="xs" variant="light" color="red" aria-label={`Remove tier ${r.i + 1}`} onClick={() => setDraft(rows.filter((_, j) => j !== r.i))}>
                  Remove
                </Button>
              ),
            },
          ]}
        />
        <Group mt="md">
          <Button variant="default" onClick={() => setDraft([...rows, { months: '', bonusPercent: '' }])}>
            Add tier
          </Button>
          <Button type="submit" disabled={draft === null} loading={save.isPending}>
            Save loyalty tiers
          </Button>
        </Group>
      </form>
      <ErrorNote error={save.error} />
    </Section>
  );
}
