/**
 * The full page's start: the model (catalog, pick, load) and the CLIP ranker side by side. The ranker is picked as soon
 * as the catalog is read, not after the model's load: a Draw made the moment it is enabled is ranked as the settings
 * say, and a browser still asking about persistent storage holds nothing up.
 */
import type { Controller } from './controller.ts';
import type { StartOptions } from './model-actions.ts';
import { joinSaid } from './said-again.ts';
import { useAppStore } from './store.ts';

/** @param problems what the URL asked for that the page cannot do, shown once the start has settled. */
export async function startApp(controller: Controller, options: StartOptions, problems: readonly string[]) {
  const ranking = controller.ranking
    .configure(options.catalogUrl, undefined)
    // A model that loaded first found no ranker to load after it. Not awaited: the ranker's own load is its panel's.
    .then(() => void controller.ranking.modelReady());
  await controller.start(options);
  await ranking;
  // The model picked, also one waiting for the visitor's consent, shows its own ranker (the load picks it otherwise).
  const { catalog, selectedModel } = useAppStore.getState();
  const model = catalog.find(({ id }) => id === selectedModel);
  if (model) controller.ranking.modelChosen(model);
  const shown = [useAppStore.getState().error, ...problems].filter((problem) => problem !== null);
  if (shown.length > 0) useAppStore.setState({ error: joinSaid(shown, ' ') });
}
