import { useMemo, useState } from 'react';
import { Badge, Button, Group, NumberInput, Select, Switch, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, query } from '../api';
import type { AddedFeature, Feature, FeatureList, PriceHistory } from '../types';
import { Section } from '../components/Section';
import { DataTable } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { done } from '../components/notify';
import { tierColor, tierOf, tiers, utc, type Tier } from '../format';

/** The catalog by tier: search, a cost change as a new price version, enable/disable, add a feature. */
export function FeaturesPage() {
  const [q, setQ] = useState('');
  const [tier, setTier] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const list = useQuery({ queryKey: ['features', q, tier], queryFn: () => get<FeatureList>(`/admin/api/features${query({ q, tier })}`) });
  const byTier = useMemo(() => {
    const groups = new Map<Tier, Feature[]>();
    for (const f of list.data?.features ?? []) groups.set(f.tier, [...(groups.get(f.tier) ?? []), f]);
    return tiers.filter((t) => groups.has(t)).map((t) => [t, groups.get(t)!.sort((a, b) => a.cost - b.cost || a.key.localeCompare(b.key))] as const);
  }, [list.data]);
  const selected = list.data?.features.find((f) => f.key === editing);

  return (
    <>
      <Section title="Features and prices">
        <div className="form-row">
          <TextInput label="Search features" placeholder="key or name" value={q} onChange={(e) => setQ(e.currentTarget.value)} />
          <Select label="Tier" placeholder="All tiers" data={[...tiers]} value={tier} onChange={setTier} clearable />
        </div>
        <ErrorNote error={list.error} />
        {selected ? <PriceEditor key={selected.key} feature={selected} onClose={() => setEditing(null)} /> : null}
        {byTier.map(([t, features]) => (
          <div key={t}>
            <Group mt="md" mb="xs" gap="xs">
              <Badge color={tierColor[t]}>{t}</Badge>
              <Text size="sm" c="dimmed">
                {features.length} feature{features.length === 1 ? '' : 's'}
              </Text>
            </Group>
            <DataTable
              label={`${t} features`}
              rows={features}
              rowKey={(f) => f.key}
              rowProps={(f) => ({ 'data-feature': f.key })}
              columns={[
                { header: 'Key', cell: (f) => <code>{f.key}</code> },
                { header: 'Name', cell: (f) => f.name },
                { header: 'Base cost', cell: (f) => f.baseCost, num: true },
                { header: 'Cost now', cell: (f) => f.cost, num: true },
                { header: 'Enabled', cell: (f) => <EnabledSwitch feature={f} /> },
                {
                  header: 'Price',
                  cell: (f) => (
                    <Button size="xs" variant="light" onClick={() => setEditing(f.key)} aria-label={`Edit price of ${f.key}`}>
                      Edit price
                    </Button>
                  ),
                },
              ]}
            />
          </div>
        ))}
        {list.data && list.data.features.length === 0 ? <Text c="dimmed">No feature matches.</Text> : null}
      </Section>
      <AddFeature />
    </>
  );
}

function EnabledSwitch({ feature }: { feature: Feature }) {
  const client = useQueryClient();
  const change = useMutation({
    mutationFn: (enabled: boolean) => api('PUT', `/admin/api/features/${encodeURIComponent(feature.key)}`, { enabled }),
    onSuccess: (_r, enabled) => {
      done(`${feature.key} ${enabled ? 'enabled' : 'disabled'}`);
      void client.invalidateQueries({ queryKey: ['features'] });
    },
  });
  return (
    <>
      <Switch checked={feature.enabled} onChange={(e) => change.mutate(e.currentTarget.checked)} disabled={change.isPending} aria-label={`Enabled: ${feature.key}`} />
      <ErrorNote error={change.error} />
    </>
  );
}

function PriceEditor({ feature, onClose }: { feature: Feature; onClose: () => void }) {
  const client = useQueryClient();
  const [cost, setCost] = useState<number | string>(feature.baseCost);
  const history = useQuery({ queryKey: ['prices', feature.key], queryFn: () => get<PriceHistory>(`/admin/api/features/${encodeURIComponent(feature.key)}/prices`) });
  const save = useMutation({
    mutationFn: () => api<{ cost: number; effectiveFrom: string }>('PUT', `/admin/api/features/${encodeURIComponent(feature.key)}`, { cost: Number(cost) }),
    onSuccess: (r) => {
      done(`${feature.key} costs ${r.cost} from ${utc(r.effectiveFrom)}`);
      void client.invalidateQueries({ queryKey: ['features'] });
      void client.invalidateQueries({ queryKey: ['prices', feature.key] });
    },
  });
  const tier = typeof cost === 'number' ? tierOf(cost) : null;
  return (
    <Section title={`Price of ${feature.name}`} id="price-editor" actions={<Button variant="subtle" size="xs" onClick={onClose}>Close</Button>}>
      <Text size="sm" c="dimmed" mb="sm">
        A new cost is a new price version in force from now: uses that occurred before keep the price they had.
      </Text>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <NumberInput label="New cost (tokens)" min={0} allowDecimal={false} value={cost} onChange={setCost} description={tier ? `tier ${tier}` : undefined} />
        <Button type="submit" className="form-action" loading={save.isPending}>
          Save new price
        </Button>
      </form>
      <ErrorNote error={save.error} />
      <Text fw={500} mt="md" mb="xs">
        Price history
      </Text>
      <DataTable
        label={`Price history of ${feature.key}`}
        testId="price-history"
        striped={false}
        rows={history.data?.prices}
        rowKey={(p) => p.effectiveFrom}
        columns={[
          { header: 'In force from', cell: (p) => (p.effectiveFrom.startsWith('1970-') ? 'the start (seeded)' : utc(p.effectiveFrom)) },
          { header: 'Cost', cell: (p) => p.cost, num: true },
          {
            header: 'Tier',
            cell: (p) => (
              <Badge color={tierColor[p.tier]} variant="light">
                {p.tier}
              </Badge>
            ),
          },
          { header: 'Changed by', cell: (p) => p.changedBy },
        ]}
      />
    </Section>
  );
}

function AddFeature() {
  const client = useQueryClient();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [cost, setCost] = useState<number | string>('');
  const add = useMutation({
    mutationFn: () => api<AddedFeature>('POST', '/admin/api/features', { key, name, cost: Number(cost) }),
    onSuccess: (f) => {
      done(f.created ? `${f.key} added (${f.tier}, ${f.cost} tokens)` : `${f.key} already existed as given`);
      setKey('');
      setName('');
      setCost('');
      void client.invalidateQueries({ queryKey: ['features'] });
    },
  });
  return (
    <Section title="Add a feature">
      <Text size="sm" c="dimmed" mb="sm">
        For a new page or operation of the product. Its tier follows from its cost.
      </Text>
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <TextInput label="Key" placeholder="41_Offer_Compare.py" value={key} onChange={(e) => setKey(e.currentTarget.value)} required />
        <TextInput label="Name" placeholder="Offer Compare" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
        <NumberInput label="Cost (tokens)" min={0} allowDecimal={false} value={cost} onChange={setCost} required description={typeof cost === 'number' ? `tier ${tierOf(cost)}` : 'tier from the cost'} />
        <Button type="submit" className="form-action" loading={add.isPending}>
          Add feature
        </Button>
      </form>
      <ErrorNote error={add.error} />
    </Section>
  );
}
