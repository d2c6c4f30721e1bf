/**
 * Remembers `value` under `key` in `map`, which holds at most `max` entries: the oldest is forgotten first.
 * For facts that never change once known (an account's creation time, its shard's hash).
 */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, value);
}
