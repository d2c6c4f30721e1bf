import { useEffect, useRef, useState } from 'react';
import type { LiveBatch } from '../types';

/** One use of the feed, with when its transaction applied and committed it. */
export type LiveRow = LiveBatch['uses'][number] & Pick<LiveBatch, 'appliedAt' | 'committedAt'>;

export type FeedState = 'connecting' | 'live' | 'reconnecting';

const KEPT_ROWS = 200;

/**
 * The engine's live feed (Server-Sent Events): the browser's EventSource reconnects by itself and sends
 * Last-Event-ID, so the engine replays what was missed. Newest first.
 */
export function useLiveFeed(onBatch?: (batch: LiveBatch) => void): { rows: LiveRow[]; state: FeedState; hidden: number } {
  const [rows, setRows] = useState<LiveRow[]>([]);
  const [hidden, setHidden] = useState(0);
  const [state, setState] = useState<FeedState>('connecting');
  const callback = useRef(onBatch);
  callback.current = onBatch;

  useEffect(() => {
    const source = new EventSource('/admin/api/live?recent=50');
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener('usage', (message) => {
      const batch = JSON.parse((message as MessageEvent<string>).data) as LiveBatch;
      const fresh = batch.uses.map((u) => ({ ...u, appliedAt: batch.appliedAt, committedAt: batch.committedAt })).reverse();
      setRows((current) => [...fresh, ...current].slice(0, KEPT_ROWS));
      if (batch.more > 0) setHidden((n) => n + batch.more);
      callback.current?.(batch);
    });
    return () => source.close();
  }, []);

  return { rows, state, hidden };
}
