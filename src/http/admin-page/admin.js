// The admin dashboard: reads the admin API with the credentials the browser logged in with,
// and refreshes itself every ten seconds.
(function () {
  const REFRESH_MS = 10000;
  let chart;

  async function get(path) {
    const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(path + ': ' + res.status);
    return res.json();
  }

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function rows(tableId, items, cells) {
    const body = document.querySelector('#' + tableId + ' tbody');
    body.replaceChildren(
      ...items.map((item) => {
        const tr = document.createElement('tr');
        for (const value of cells(item)) {
          const td = document.createElement('td');
          td.textContent = value;
          if (typeof value === 'number') td.className = 'num';
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  function drawChart(perDay) {
    const labels = perDay.map((d) => d.day.slice(5));
    const data = perDay.map((d) => d.tokens);
    if (!chart) {
      chart = new Chart(document.getElementById('tokens-chart'), {
        type: 'bar',
        data: { labels, datasets: [{ label: 'tokens', data, backgroundColor: '#4f7cff' }] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, title: { display: true, text: 'tokens' } } },
        },
      });
    } else {
      chart.data.labels = labels;
      chart.data.datasets[0].data = data;
      chart.update();
    }
  }

  async function refresh() {
    const [analytics, alerts, queues] = await Promise.all([
      get('/admin/api/analytics'),
      get('/admin/api/alerts').catch(() => ({ alerts: [] })),
      get('/admin/api/queues'),
    ]);
    text('today-tokens', analytics.today.tokens);
    text('today-uses', analytics.today.uses);
    text('today-users', analytics.today.activeUsers);
    text('range-tokens', analytics.totals.tokens);
    text('range-uses', analytics.totals.uses);
    text('near-count', analytics.usersNearLimit.length);
    text('alert-count', alerts.alerts.length);
    drawChart(analytics.tokensPerDay);
    rows('top-features', analytics.mostUsedFeatures.byTokens, (f) => [f.name, f.uses, f.tokens]);
    rows('near-limit', analytics.usersNearLimit, (u) => [u.userId, u.plan, u.used + '/' + u.allocated, u.percentUsed]);
    rows('alerts', alerts.alerts.slice(0, 10), (a) => [a.raisedAt, a.userId || '', a.rule]);
    const revenue = analytics.revenue.byCurrency;
    text('revenue', revenue.length ? revenue.map((r) => r.revenueCents / 100 + ' ' + r.currency.toUpperCase() + ' · ' + r.centsPerToken + ' cents per token').join(' · ') : 'no payments in the range');
    rows('revenue-features', (analytics.revenuePerFeature[0] || { features: [] }).features.slice(0, 8), (f) => [f.feature, f.tokens, f.revenueCents]);
    rows('rules', analytics.pricingRules, (r) => [r.rule, r.uses, r.tokens, r.extraTokens]);
    rows('rewards', analytics.rewards.granted, (g) => [g.source, g.grants, g.tokens, g.unspent]);
    rows('queues', queues.queues, (q) => [q.name, q.waiting, q.active, q.delayed, q.failed, q.oldestWaitingSeconds + ' s']);
    text('updated', 'updated ' + new Date().toLocaleTimeString() + ' · engine time ' + analytics.generatedAt);
    document.body.dataset.loaded = 'true';
  }

  function loop() {
    refresh().catch((error) => text('updated', 'refresh failed: ' + error.message)).finally(() => setTimeout(loop, REFRESH_MS));
  }
  loop();
})();
