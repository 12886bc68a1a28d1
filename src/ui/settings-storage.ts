/**
 * Where the settings persist: localStorage, or memory for the visit where the browser refuses it, from the start
 * (storage blocked for the site, a sandboxed frame) or at a write (the origin's storage full, perhaps by other pages
 * of a shared `*.github.io` host). Either way `onRefused` is told once, the settings go on in memory, and nothing
 * throws back into the store's `setState` (a throw there stopped the page from starting, and every Draw that picks a
 * new seed). Where there is no localStorage at all (Node) there is nothing to tell.
 */
import type { StateStorage } from 'zustand/middleware';

export function settingsStorage(
  local: () => StateStorage | undefined,
  onRefused: (error: unknown) => void,
): StateStorage {
  const memory = new Map<string, string>();
  const inMemory: StateStorage = {
    getItem: (key) => memory.get(key) ?? null,
    setItem: (key, value) => void memory.set(key, value),
    removeItem: (key) => void memory.delete(key),
  };
  let storage = inMemory;
  try {
    const found = local();
    // Throws where storage is blocked; Node has no localStorage.
    found?.getItem('');
    if (found) storage = found;
  } catch (error) {
    onRefused(error);
  }
  // persist writes after every state change (progress arrives at every decoder step); only a change of settings reaches
  // the disk.
  let written: string | null = null;
  return {
    getItem: (key) => storage.getItem(key),
    setItem: (key, value) => {
      if (value === written) return;
      written = value;
      try {
        return storage.setItem(key, value);
      } catch (error) {
        storage = inMemory;
        onRefused(error);
        return inMemory.setItem(key, value);
      }
    },
    removeItem: (key) => {
      written = null;
      return storage.removeItem(key);
    },
  };
}
