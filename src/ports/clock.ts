// Clock port. The runtime reads time only through this, so the simulator can
// substitute a virtual clock driven by its seed.

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (may be fractional); never goes backwards. */
  nowMs(): number;
  /** Wall-clock unix milliseconds, an integer like Date.now(); used only for key expiry (EXPIREAT, TTL). */
  wallMs(): number;
  /** Calls fn once after delayMs of this clock's time. */
  setTimer(delayMs: number, fn: () => void): Timer;
}
