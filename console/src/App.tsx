import { Burger, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, Route, Routes, useLocation } from 'react-router';
import { LivePage } from './pages/LivePage';
import { FeaturesPage } from './pages/FeaturesPage';
import { PlansPage } from './pages/PlansPage';
import { AccountsPage } from './pages/AccountsPage';
import { AccountPage } from './pages/AccountPage';
import { RewardsPage } from './pages/RewardsPage';
import { OperationsPage } from './pages/OperationsPage';

/** The console's pages; the engine serves index.html at each of these paths (src/http/routes/admin/console.ts). */
const pages = [
  { path: '/', label: 'Live activity' },
  { path: '/features', label: 'Features and prices' },
  { path: '/plans', label: 'Plans' },
  { path: '/accounts', label: 'Accounts' },
  { path: '/rewards', label: 'Pricing and rewards' },
  { path: '/operations', label: 'Operations' },
] as const;

export function App() {
  const [open, { toggle, close }] = useDisclosure(false);
  const location = useLocation();
  const current = (path: string) => (path === '/' ? location.pathname === '/' : location.pathname.startsWith(path));
  return (
    <div className="shell">
      <header className="shell-header">
        <Burger opened={open} onClick={toggle} className="shell-burger" size="sm" color="white" aria-label={open ? 'Close navigation' : 'Open navigation'} aria-controls="console-nav" aria-expanded={open} />
        <Title order={1} size="h3" className="shell-title">
          Token engine
        </Title>
        <Text size="sm" className="shell-subtitle">
          admin console
        </Text>
        <a className="shell-queues" href="/admin/queues">
          Queues (bull-board)
        </a>
      </header>
      <nav id="console-nav" aria-label="Console" className="shell-nav" data-open={open}>
        {pages.map((p) => (
          <NavLink key={p.path} component={Link} to={p.path} label={p.label} active={current(p.path)} onClick={close} aria-current={current(p.path) ? 'page' : undefined} />
        ))}
      </nav>
      <main className="shell-main">
        <Routes>
          <Route path="/" element={<LivePage />} />
          <Route path="/features" element={<FeaturesPage />} />
          <Route path="/plans" element={<PlansPage />} />
          <Route path="/accounts" element={<AccountsPage />} />
          <Route path="/accounts/:userId" element={<AccountPage />} />
          <Route path="/rewards" element={<RewardsPage />} />
          <Route path="/operations" element={<OperationsPage />} />
          <Route path="*" element={<Text>No such page.</Text>} />
        </Routes>
      </main>
    </div>
  );
}
