// Assertions for impossibilities. They stay on in production: a replica that
// has reached a state the protocol says cannot happen must stop rather than
// acknowledge anything else (expected operating errors are typed results).

export class AssertionFailed extends Error {
  override name = 'AssertionFailed';
}

export function assert(cond: unknown, msg: string | (() => string) = 'assertion failed'): asserts cond {
  if (!cond) throw new AssertionFailed(typeof msg === 'function' ? msg() : msg);
}

export function unreachable(x: never, what = 'value'): never {
  throw new AssertionFailed(`unreachable ${what}: ${JSON.stringify(x)}`);
}
