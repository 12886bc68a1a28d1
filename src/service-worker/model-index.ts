/**
 * The model indexes the service worker keeps a last copy of, for offline visits: `models/catalog.json` and
 * `models/<id>/manifest.json`. Model files themselves belong to the model store (src/store: IndexedDB, each file
 * checked against its sha256); a second copy in Cache Storage would double a gigabyte-sized download.
 */

/** Same-origin model indexes: the catalog and each model's manifest, never a model file. */
export const MODEL_INDEX_URL = /\/models\/(?:catalog\.json|[^/?#]+\/manifest\.json)$/;

/**
 * A Workbox plugin for the model-index route: only real JSON is kept, because static hosts answer a missing catalog
 * with their index.html and status 200.
 */
export const KEEP_ONLY_JSON = {
  cacheWillUpdate: ({ response }: { response: Response }): Promise<Response | null> =>
    Promise.resolve(
      response.status === 200 && (response.headers.get('content-type') ?? '').includes('json') ? response : null,
    ),
};
