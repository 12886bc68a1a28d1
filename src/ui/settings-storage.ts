/**
 * Where the settings persist: localStorage, or memory for the visit where the browser refuses it. Reading may be
 * refused from the start (a sandboxed frame, storage blocked: nothing to say, the page cannot keep anything there), or
 * writing later (the origin's storage full, shared with other sites on a `*.github.io` host): then `onWriteRefused` is
 * told once, the settings go on in memory, and nothing throws back into the store's `setState` (a throw there stopped
 * the page from starting and every Draw that picks a new seed).
 */
import type { StateStorage } from 'zustand/middleware';

export function settingsStorage(
  local: () => StateStorage | undefined,
  onWriteRefused: (error: unknown) => void,
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
  } catch {
    // Blocked: the settings last for the visit.
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
        onWriteRefused(error);
        return inMemory.setItem(key, value);
      }
    },
    removeItem: (key) => {
      written = null;
      return storage.removeItem(key);
    },
  };
}
