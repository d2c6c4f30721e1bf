import { useState } from 'react';
import { Anchor, Badge, Button, Group, Select, Tabs, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api';
import type { Alert, AuditEntry, Notification, QueueHealth, ScheduledJob, StripeEvent } from '../types';
import { Section } from '../components/Section';
import { DataTable, type Column } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { Json } from '../components/Json';
import { done } from '../components/notify';
import { fromUtcInput, utc } from '../format';

/** Alerts, the notification outbox, Stripe events, the audit log, queue health, and running a job now. */
export function OperationsPage() {
  return (
    <Tabs defaultValue="queues" keepMounted={false}>
      <Tabs.List aria-label="Operations">
        <Tabs.Tab value="queues">Queues and jobs</Tabs.Tab>
        <Tabs.Tab value="alerts">Alerts</Tabs.Tab>
        <Tabs.Tab value="notifications">Notifications</Tabs.Tab>
        <Tabs.Tab value="stripe">Stripe events</Tabs.Tab>
        <Tabs.Tab value="audit">Audit log</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="queues" pt="md">
        <div className="stack">
          <Queues />
          <RunJob />
        </div>
      </Tabs.Panel>
      <Tabs.Panel value="alerts" pt="md">
        <Alerts />
      </Tabs.Panel>
      <Tabs.Panel value="notifications" pt="md">
        <Notifications />
      </Tabs.Panel>
      <Tabs.Panel value="stripe" pt="md">
        <StripeEvents />
      </Tabs.Panel>
      <Tabs.Panel value="audit" pt="md">
        <Audit />
      </Tabs.Panel>
    </Tabs>
  );
}

function Queues() {
  const queues = useQuery({ queryKey: ['queues'], queryFn: () => get<{ queues: QueueHealth[] }>('/admin/api/queues'), refetchInterval: 5_000 });
  return (
    <Section title="Queue health" actions={<Anchor href="/admin/queues">Open bull-board</Anchor>}>
      <ErrorNote error={queues.error} />
      <DataTable
        label="Queue health"
        testId="queues"
        rows={queues.data?.queues}
        rowKey={(q) => q.name}
        columns={[
          { header: 'Queue', cell: (q) => q.name },
          { header: 'Waiting', cell: (q) => q.waiting, num: true },
          { header: 'Active', cell: (q) => q.active, num: true },
          { header: 'Delayed', cell: (q) => q.delayed, num: true },
          { header: 'Failed', cell: (q) => (q.failed ? <Badge color="red">{q.failed}</Badge> : 0), num: true },
          { header: 'Oldest waiting', cell: (q) => `${q.oldestWaitingSeconds} s`, num: true },
        ]}
      />
    </Section>
  );
}

function RunJob() {
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: () => get<{ jobs: ScheduledJob[] }>('/admin/api/jobs') });
  const [name, setName] = useState<string | null>(null);
  const [asOf, setAsOf] = useState('');
  const run = useMutation({
    mutationFn: () => api<{ jobId: string; name: string }>('POST', `/admin/api/jobs/${name}/run`, asOf ? { asOf: fromUtcInput(asOf) ?? asOf } : {}),
    onSuccess: (r) => done(`${r.name} queued (job ${r.jobId}); its effects follow`),
  });
  const chosen = jobs.data?.jobs.find((j) => j.name === name);
  return (
    <Section title="Run a scheduled job now">
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          run.mutate();
        }}
      >
        <Select label="Job" placeholder="choose a job" data={(jobs.data?.jobs ?? []).map((j) => ({ value: j.name, label: `${j.name}${j.cron ? ` (${j.cron})` : ''}` }))} value={name} onChange={setName} description={chosen?.description} />
        <TextInput type="datetime-local" label="As of (UTC)" description="empty: now; for replaying a missed schedule" value={asOf} onChange={(e) => setAsOf(e.currentTarget.value)} />
        <Button type="submit" className="form-action" disabled={!name} loading={run.isPending}>
          Run now
        </Button>
      </form>
      <ErrorNote error={run.error} />
    </Section>
  );
}

function Alerts() {
  const alerts = useQuery({ queryKey: ['alerts'], queryFn: () => get<{ alerts: Alert[] }>('/admin/api/alerts?limit=200') });
  return (
    <Section title="Alerts">
      <ErrorNote error={alerts.error} />
      <DataTable
        label="Alerts"
        testId="alerts"
        rows={alerts.data?.alerts}
        rowKey={(a) => a.id}
        empty="No alert."
        columns={[
          { header: 'Raised', cell: (a) => utc(a.raisedAt) },
          {
            header: 'Rule',
            cell: (a) => (
              <Badge variant="light" color={a.rule.startsWith('reconcile:') ? 'red' : 'orange'}>
                {a.rule}
              </Badge>
            ),
          },
          { header: 'Account', cell: (a) => a.userId ?? '—' },
          { header: 'What', cell: (a) => a.message },
        ]}
      />
    </Section>
  );
}

function Notifications() {
  const client = useQueryClient();
  const failed = useQuery({ queryKey: ['notifications', 'failed'], queryFn: () => get<{ notifications: Notification[] }>('/admin/api/notifications?status=failed&limit=100') });
  const recent = useQuery({ queryKey: ['notifications', 'recent'], queryFn: () => get<{ notifications: Notification[] }>('/admin/api/notifications?limit=50') });
  const retry = useMutation({
    mutationFn: (id: string) => api<{ deliveries: number }>('POST', `/admin/api/notifications/${encodeURIComponent(id)}/retry`),
    onSuccess: (r, id) => {
      done(`${id}: ${r.deliveries} deliver${r.deliveries === 1 ? 'y' : 'ies'} queued again`);
      void client.invalidateQueries({ queryKey: ['notifications'] });
    },
  });
  return (
    <div className="stack">
      <Section title="Failed notifications" actions={<Button size="xs" variant="default" onClick={() => void client.invalidateQueries({ queryKey: ['notifications'] })}>Refresh</Button>}>
        <ErrorNote error={failed.error ?? retry.error} />
        <NotificationTable label="Failed notifications" rows={failed.data?.notifications} retry={(id) => retry.mutate(id)} empty="No failed notification." />
      </Section>
      <Section title="Recent notifications">
        <NotificationTable label="Recent notifications" rows={recent.data?.notifications} />
      </Section>
    </div>
  );
}

function NotificationTable({ label, rows, retry, empty }: { label: string; rows: Notification[] | undefined; retry?: (id: string) => void; empty?: string }) {
  const columns: Array<Column<Notification>> = [
    { header: 'Occurred', cell: (n) => utc(n.occurredAt) },
    { header: 'Type', cell: (n) => n.type },
    { header: 'Account', cell: (n) => n.userId ?? '—' },
    {
      header: 'Deliveries',
      cell: (n) =>
        n.deliveries.map((d) => (
          <div key={d.id}>
            <Badge size="sm" variant="light" color={d.status === 'delivered' ? 'green' : d.status === 'failed' ? 'red' : 'gray'}>
              {d.channel} {d.status}
            </Badge>{' '}
            <Text span size="xs" c="dimmed">
              {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
              {d.lastError ? ` · ${d.lastError}` : ''}
            </Text>
          </div>
        )),
    },
  ];
  if (retry) {
    columns.push({
      header: '',
      cell: (n) => (
        <Button size="xs" variant="light" onClick={() => retry(n.id)} aria-label={`Retry notification ${n.id}`}>
          Retry
        </Button>
      ),
    });
  }
  return (
    <DataTable label={label} testId={retry ? 'failed-notifications' : 'recent-notifications'} rows={rows} rowKey={(n) => n.id} rowProps={(n) => ({ 'data-notification': n.id })} empty={empty} columns={columns} />
  );
}

function StripeEvents() {
  const client = useQueryClient();
  const [reading, setReading] = useState<string | null>(null);
  const failed = useQuery({ queryKey: ['stripe', 'failed'], queryFn: () => get<{ events: StripeEvent[] }>('/admin/api/stripe/events?status=failed&limit=100') });
  const recent = useQuery({ queryKey: ['stripe', 'recent'], queryFn: () => get<{ events: StripeEvent[] }>('/admin/api/stripe/events?limit=50') });
  const payload = useQuery({
    queryKey: ['stripe', 'payload', reading],
    queryFn: () => get<{ id: string; payload: unknown }>(`/admin/api/stripe/events/${encodeURIComponent(reading!)}/payload`),
    enabled: reading !== null,
  });
  const replay = useMutation({
    mutationFn: (id: string) => api('POST', `/admin/api/stripe/events/${encodeURIComponent(id)}/replay`),
    onSuccess: (_r, id) => {
      done(`${id} queued to be applied again`);
      void client.invalidateQueries({ queryKey: ['stripe'] });
    },
  });
  const table = (label: string, rows: StripeEvent[] | undefined, withReplay: boolean, empty?: string) => (
    <DataTable
      label={label}
      testId={withReplay ? 'failed-stripe-events' : 'recent-stripe-events'}
      rows={rows}
      rowKey={(e) => e.id}
      rowProps={(e) => ({ 'data-event': e.id })}
      empty={empty}
      columns={[
        { header: 'Received', cell: (e) => utc(e.receivedAt) },
        {
          header: 'Event',
          cell: (e) => (
            <>
              <code>{e.id}</code>
              <Text size="xs" c="dimmed">
                {e.type}
              </Text>
            </>
          ),
        },
        { header: 'Account', cell: (e) => e.userId ?? '—' },
        {
          header: 'Outcome',
          cell: (e) => (
            <>
              <Badge variant="light" color={e.status === 'applied' ? 'green' : e.status === 'failed' ? 'red' : 'gray'}>
                {e.status}
              </Badge>{' '}
              <Text span size="xs">
                {e.code ? `${e.code}: ` : ''}
                {e.message ?? ''}
              </Text>
            </>
          ),
        },
        {
          header: '',
          cell: (e) => (
            <Group gap="xs" wrap="nowrap">
              <Button size="xs" variant="default" onClick={() => setReading(e.id)} aria-label={`Read event ${e.id}`}>
                Read
              </Button>
              {withReplay ? (
                <Button size="xs" variant="light" onClick={() => replay.mutate(e.id)} aria-label={`Replay event ${e.id}`}>
                  Replay
                </Button>
              ) : null}
            </Group>
          ),
        },
      ]}
    />
  );
  return (
    <div className="stack">
      <Section title="Failed Stripe events" actions={<Button size="xs" variant="default" onClick={() => void client.invalidateQueries({ queryKey: ['stripe'] })}>Refresh</Button>}>
        <Text size="sm" c="dimmed" mb="xs">
          Replay applies an event again as if just received, e.g. once the account it names exists.
        </Text>
        <ErrorNote error={failed.error ?? replay.error} />
        {table('Failed Stripe events', failed.data?.events, true, 'No failed event.')}
      </Section>
      {reading ? (
        <Section title={`Event ${reading}`} id="stripe-event" actions={<Button size="xs" variant="subtle" onClick={() => setReading(null)}>Close</Button>}>
          <ErrorNote error={payload.error} />
          {payload.data ? <Json value={payload.data.payload} label={`Payload of ${reading}`} /> : <Text c="dimmed">loading…</Text>}
        </Section>
      ) : null}
      <Section title="Recent Stripe events">{table('Recent Stripe events', recent.data?.events, false)}</Section>
    </div>
  );
}

function Audit() {
  const audit = useQuery({ queryKey: ['audit'], queryFn: () => get<{ entries: AuditEntry[] }>('/admin/api/audit?limit=200') });
  return (
    <Section title="Audit log">
      <Text size="sm" c="dimmed" mb="xs">
        Every admin change: who, when, before and after.
      </Text>
      <ErrorNote error={audit.error} />
      <DataTable
        label="Audit log"
        testId="audit"
        rows={audit.data?.entries}
        rowKey={(e) => e.id}
        columns={[
          { header: 'When', cell: (e) => utc(e.at) },
          { header: 'Who', cell: (e) => e.actor },
          { header: 'Action', cell: (e) => e.action },
          { header: 'Subject', cell: (e) => e.subject },
          {
            header: 'Before → after',
            cell: (e) => (
              <Text size="xs" className="audit-change">
                {JSON.stringify(e.before)} → {JSON.stringify(e.after)}
              </Text>
            ),
          },
        ]}
      />
    </Section>
  );
}
