// Entry point of the `understudy` command (bin/understudy.mjs loads this).
import { runCli } from './program.ts';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
