/**
 * HTTP statuses that say nothing about the file asked for: the server (or a proxy in front of it) could not answer
 * now. Their remedy is to try again later, not to re-export or re-publish the model.
 */
export function serverTrouble(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}
