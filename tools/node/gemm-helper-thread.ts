/** Entry of a Node helper thread for the int8 GEMM (tools/node/gemm-helper.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { serveGemmHelper } from '../../src/kernels/gemm-threads.ts';
import type { GemmHelperInit } from '../../src/kernels/gemm-threads.ts';

serveGemmHelper(workerData as GemmHelperInit, () => parentPort?.postMessage('ready'));
