import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import { Bar } from 'react-chartjs-2';
import { VisuallyHidden } from '@mantine/core';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/**
 * Tokens consumed per day, from the rollups. Chart.js draws on a canvas (no styles to inject); the same
 * figures are in a table for screen readers.
 */
export function TokensChart({ days }: { days: Array<{ day: string; tokens: number }> }) {
  const range = `${days[0]?.day ?? ''} to ${days.at(-1)?.day ?? ''}`;
  return (
    <>
      <div className="chart-box" aria-hidden="true">
        <Bar
          id="tokens-chart"
          data={{ labels: days.map((d) => d.day.slice(5)), datasets: [{ label: 'tokens', data: days.map((d) => d.tokens), backgroundColor: '#4c6ef5' }] }}
          options={{
            animation: false,
            maintainAspectRatio: false,
            plugins: { legend: { display: false } },
            scales: { y: { beginAtZero: true, title: { display: true, text: 'tokens' } } },
          }}
        />
      </div>
      <VisuallyHidden>
        <table data-testid="tokens-per-day">
          <caption>Tokens consumed per day, {range}</caption>
          <thead>
            <tr>
              <th>Day</th>
              <th>Tokens</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td>{d.tokens}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </VisuallyHidden>
    </>
  );
}
