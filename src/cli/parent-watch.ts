// A parent-death check: a process whose parent dies is handed to another (init, or a
// subreaper), so its parent PID changes. `cluster up` uses it to stop when the process that
// started it (npm, a shell) is gone, and each node it starts uses it beside the IPC channel.

/** How often the parent PID is compared with the one at start. */
export const PARENT_CHECK_MS = 500;

/** Calls onGone (once) when this process's parent is no longer `parentPid`; returns a stop function. */
export function watchParent(parentPid: number, onGone: () => void): () => void {
  const check = (): boolean => {
    if (process.ppid === parentPid) return false;
    clearInterval(timer);
    onGone();
    return true;
  };
  const timer = setInterval(check, PARENT_CHECK_MS);
  // The watch alone must not keep a process alive.
  timer.unref();
  check();
  return () => clearInterval(timer);
}
