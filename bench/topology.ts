/** One engine OS process: a name for the report and its TOKENS_ROLES. */
export interface EngineRole {
  name: string;
  roles: 'api' | 'workers' | 'scheduler' | 'api,workers,scheduler' | 'workers,scheduler';
}

/** How the engine is laid out in OS processes, all on one PostgreSQL and one Redis. */
export interface Topology {
  name: string;
  processes: EngineRole[];
}

export const hasRole = (p: EngineRole, role: 'api' | 'workers' | 'scheduler') => p.roles.split(',').includes(role);

/** The deployment the throughput and check phases use: an API process and a workers process. */
export const SPLIT: Topology = {
  name: 'api process + workers,scheduler process',
  processes: [
    { name: 'api', roles: 'api' },
    { name: 'workers', roles: 'workers,scheduler' },
  ],
};

/** `npm start` as it is: every role in one process. */
export const ONE_PROCESS: Topology = {
  name: '1 process (api,workers,scheduler)',
  processes: [{ name: 'all', roles: 'api,workers,scheduler' }],
};

/** Scaled out on one machine: two API processes behind the load generator, two worker processes. */
export const TWO_BY_TWO: Topology = {
  name: '2 API + 2 worker processes',
  processes: [
    { name: 'api-1', roles: 'api' },
    { name: 'api-2', roles: 'api' },
    { name: 'workers-1', roles: 'workers,scheduler' },
    { name: 'workers-2', roles: 'workers' },
  ],
};

/** An API process on its own: the floor comparison (bench/floor.ts) sets one API against the floor server. */
export const API_ALONE: Topology = {
  name: 'api process alone',
  processes: [{ name: 'api', roles: 'api' }],
};
