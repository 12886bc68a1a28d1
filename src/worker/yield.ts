/**
 * Lets queued messages (a cancel) run between decoder steps. ONNX Runtime's WASM runs resolve
 * through microtasks only, so without this a worker would read its mailbox only after all 256 steps.
 * A MessageChannel round trip, unlike setTimeout, is not clamped to 4 ms when nested.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
