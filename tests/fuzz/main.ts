/**
 * npm run fuzz -- [--seconds 60] [--seed n] [--target msgpack] [--replay <case seed>]
 * Runs the fuzz targets for longer than `npm test` does; prints the case seed of any failure,
 * which `--replay` runs alone.
 */
import { intArg, parseArgs, runCli, UsageError } from '../../tools/cli-args.ts';
import { fuzzFor } from '../helpers/fuzz.ts';
import type { FuzzTarget } from '../helpers/fuzz.ts';
import { createMsgpackTarget } from './msgpack-target.ts';

/** Every target, by name; new ones (manifests, model folders) register here. */
const TARGETS: Readonly<Record<string, () => FuzzTarget>> = {
  msgpack: createMsgpackTarget,
};

function main(): void {
  const args = parseArgs(process.argv.slice(2), ['seconds', 'seed', 'target', 'replay']);
  const names = args.values.has('target') ? [args.values.get('target')!] : Object.keys(TARGETS);
  for (const name of names)
    if (!(name in TARGETS))
      throw new UsageError(`--target must be one of ${Object.keys(TARGETS).join(', ')}, got "${name}"`);
  const seconds = intArg(args, 'seconds', 60, 1);
  const seed = intArg(args, 'seed', Math.floor(Math.random() * 2 ** 32));
  let failed = false;
  for (const name of names) {
    const target = TARGETS[name]!();
    try {
      if (args.values.has('replay')) {
        const caseSeed = intArg(args, 'replay', 0);
        target.run(caseSeed);
        console.log(`${name}: case ${caseSeed} passes`);
        continue;
      }
      const report = fuzzFor(target, { seconds: seconds / names.length, seed });
      if (report.failure === null) {
        console.log(`${name}: ${report.cases} cases from seed ${seed}, no failures`);
        continue;
      }
      failed = true;
      const { caseSeed, error } = report.failure;
      console.log(
        `${name}: FAILED at case seed ${caseSeed} (after ${report.cases} cases from seed ${seed}); replay: npm run fuzz -- --target ${name} --replay ${caseSeed}`,
      );
      console.log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    } finally {
      target.dispose();
    }
  }
  if (failed) process.exitCode = 1;
}

runCli(main);
