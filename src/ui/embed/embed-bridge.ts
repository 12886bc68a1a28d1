/**
 * The widget's side of the postMessage API (embed-api.ts): it checks who sent each message and
 * what it is, runs the parent's drawings one after another, and answers only the trusted origin
 * that asked — never `*`. Free of `window` and the store (both injected), so Node tests drive it
 * with plain objects.
 */
import { GenerationCancelledError } from '../../pipeline/errors.ts';
import { EMBED_API, parseParentMessage, widgetMessage } from './embed-api.ts';
import type { EmbedRequestId, GenerateMessage, WidgetMessage } from './embed-api.ts';

export interface IncomingMessage {
  readonly origin: string;
  readonly data: unknown;
  /** Sent by the window that frames the widget (not a sibling frame, a popup or the widget itself). */
  readonly fromParent: boolean;
}

export interface DrawnImages {
  readonly images: readonly (string | Blob)[];
  readonly imageSize: number;
  readonly seed: number;
}

export interface EmbedBridgeDeps {
  /** Exact origins (parseTrustedOrigins); empty turns the API off. */
  readonly trustedOrigins: readonly string[];
  /** Posts to the parent window, delivered by the browser only if the parent's origin is `origin`. */
  readonly post: (message: WidgetMessage, origin: string) => void;
  /** Draws for the parent (waiting for the model if it is still loading); rejects with the reason it could not. */
  readonly draw: (
    request: GenerateMessage,
    onProgress: (fraction: number) => void,
    signal: AbortSignal,
  ) => Promise<DrawnImages>;
  /** Tells the page's developer why a message of ours was ignored (the console). */
  readonly warn: (text: string) => void;
}

export interface EmbedBridge {
  receive(message: IncomingMessage): Promise<void>;
  /** Tells each trusted origin the model is ready: the browser delivers it only to the one framing the widget. */
  announceReady(modelId: string): void;
}

function errorFields(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}

export function createEmbedBridge({ trustedOrigins, post, draw, warn }: EmbedBridgeDeps): EmbedBridge {
  /** The parent's drawings run one after another, as the worker's do. */
  let queue: Promise<void> = Promise.resolve();
  /** Drawings waiting or running, by origin and id, so `cancel` reaches only its own origin's. */
  const running = new Map<string, AbortController>();
  /** Those of `running` that have started: a cancel of one still waiting is answered at once. */
  const started = new Set<AbortController>();
  /** Origins already told they are not trusted: a frame posting in a loop fills the console once. */
  const warned = new Set<string>();
  const keyOf = (origin: string, id: EmbedRequestId): string => `${origin} ${typeof id} ${id}`;

  function answer(message: WidgetMessage, origin: string): void {
    // A second guard behind the origin check in `receive`: nothing goes anywhere untrusted.
    if (trustedOrigins.includes(origin)) post(message, origin);
  }

  async function run(request: GenerateMessage, origin: string, controller: AbortController): Promise<void> {
    const key = keyOf(origin, request.id);
    // Cancelled while it waited: answered then, and its id may already be in use again.
    if (controller.signal.aborted) return;
    started.add(controller);
    try {
      const drawn = await draw(
        request,
        (fraction) => answer(widgetMessage({ type: 'progress', id: request.id, fraction }), origin),
        controller.signal,
      );
      answer(widgetMessage({ type: 'result', id: request.id, ...drawn }), origin);
    } catch (error) {
      answer(widgetMessage({ type: 'error', id: request.id, ...errorFields(error) }), origin);
    } finally {
      started.delete(controller);
      if (running.get(key) === controller) running.delete(key);
    }
  }

  return {
    async receive({ origin, data, fromParent }) {
      // Who sent it before what it holds: an untrusted frame's message is never read further (a huge prompt in one
      // would hold up the widget's page while it was checked).
      if (typeof data !== 'object' || data === null || (data as { api?: unknown }).api !== EMBED_API) return;
      if (!trustedOrigins.includes(origin) || !fromParent) {
        if (!warned.has(origin))
          warn(
            trustedOrigins.includes(origin)
              ? `DALL·E Mini widget: ignored a message from ${origin} that did not come from the page framing the widget.`
              : `DALL·E Mini widget: ignored a message from ${origin}, which is not among the trusted origins (the origins= parameter${trustedOrigins.length === 0 ? ' is empty' : `: ${trustedOrigins.join(', ')}`}).`,
          );
        warned.add(origin);
        return;
      }
      const parsed = parseParentMessage(data);
      if (parsed.kind === 'foreign') return;
      if (parsed.kind === 'invalid') {
        answer(
          widgetMessage({ type: 'error', id: parsed.id, name: 'EmbedMessageError', message: parsed.problem }),
          origin,
        );
        return;
      }
      const { message } = parsed;
      const key = keyOf(origin, message.id);
      if (message.type === 'cancel') {
        const waiting = running.get(key);
        waiting?.abort();
        // Not started yet: answered now, not once the drawings before it are done, and its id is free again.
        if (waiting && !started.has(waiting)) {
          running.delete(key);
          answer(
            widgetMessage({ type: 'error', id: message.id, ...errorFields(new GenerationCancelledError()) }),
            origin,
          );
        }
        return;
      }
      if (running.has(key)) {
        answer(
          widgetMessage({
            type: 'error',
            id: message.id,
            name: 'EmbedMessageError',
            message: `a drawing with id ${JSON.stringify(message.id)} is already waiting or running; give each request its own id.`,
          }),
          origin,
        );
        return;
      }
      const controller = new AbortController();
      running.set(key, controller);
      const turn = queue.then(() => run(message, origin, controller));
      queue = turn;
      await turn;
    },

    announceReady(modelId) {
      for (const origin of trustedOrigins) answer(widgetMessage({ type: 'ready', modelId }), origin);
    },
  };
}
