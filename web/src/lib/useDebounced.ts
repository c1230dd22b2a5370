import { useEffect, useState } from 'react';

/** `value`, once it has stayed the same for `ms` (search as you type without a request per key). */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** How long a search waits after the last keystroke before it asks the server. */
export const SEARCH_DEBOUNCE_MS = 250;
