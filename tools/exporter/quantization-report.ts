export async function printQuantizationReport(_: { dalleDir: string; vqganDir: string; quantizedDir: string; cacheDir: string }): Promise<void> {}
