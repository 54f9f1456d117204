// What the executor needs from a Lua engine, so that the core stays free of any VM: the node
// (src/scripting/lua-engine.ts) and the simulator pass one in ExecOptions.scripting. The engine
// turns Lua values into replies and back by Redis's conversion rules; the executor decides what
// a redis.call may do and runs it against the script's own overlay, so a script is one atomic
// batch whose ops are replicated as its effects, like MULTI/EXEC.
import type { Reply } from '../reply.ts';

/** One script run: its body, its sha, KEYS and ARGV, and how to call a command. */
export interface ScriptRun {
  /** 40 lower-case hex characters: the SHA-1 of the body. */
  readonly sha: string;
  readonly body: Buffer;
  readonly keys: readonly Buffer[];
  readonly args: readonly Buffer[];
  /**
   * Runs one command for redis.call / redis.pcall, synchronously, on the state the script's
   * earlier calls produced. An error reply is returned, not thrown: the engine raises it for
   * redis.call and hands it back as a table for redis.pcall.
   */
  readonly call: (argv: Buffer[]) => Reply;
  /** Uniform in [0, 1): math.random, drawn on the primary (the ops carry the outcome). */
  readonly random: () => number;
  /** True once a call wrote: past the time limit such a script cannot be stopped. */
  readonly wrote: () => boolean;
}

export interface ScriptEngine {
  /**
   * Compiles `body` (cached by sha); null when it compiles, otherwise Redis's error text,
   * "ERR Error compiling script (new function): user_script:1: …".
   */
  compile(sha: string, body: Buffer): string | null;
  /** Runs a script that compiles; its result or error as Redis replies it. */
  run(run: ScriptRun): Reply;
}
