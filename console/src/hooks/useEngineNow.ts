import { useQuery } from '@tanstack/react-query';
import { ApiError, get } from '../api';

/**
 * The engine's time: the shared test clock where it is on (GET /admin/api/clock), else this browser's.
 * "Now" in the console (ending a campaign, default windows) is the engine's now.
 */
export function useEngineNow(): () => Date {
  const clock = useQuery({
    queryKey: ['clock'],
    queryFn: async () => {
      try {
        const { now } = await get<{ now: string }>('/admin/api/clock');
        return { offsetMs: Date.parse(now) - Date.now() };
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return { offsetMs: 0 };
        throw error;
      }
    },
    staleTime: 5_000,
  });
  return () => new Date(Date.now() + (clock.data?.offsetMs ?? 0));
}
