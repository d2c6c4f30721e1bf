import { useQuery } from '@tanstack/react-query';
import { ApiError, get } from '../api';

/**
 * The engine's time: the shared test clock where it is on (GET /admin/api/clock; it stays put until
 * moved), else this browser's. "Now" in the console (ending a campaign) is the engine's now.
 */
export async function engineNow(): Promise<Date> {
  try {
    return new Date((await get<{ now: string }>('/admin/api/clock')).now);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return new Date();
    throw error;
  }
}

/** The engine's time for display (what is running, what has ended), refreshed now and then. */
export function useEngineNow(): Date {
  const clock = useQuery({ queryKey: ['clock'], queryFn: async () => (await engineNow()).toISOString(), refetchInterval: 10_000 });
  return clock.data ? new Date(clock.data) : new Date();
}
