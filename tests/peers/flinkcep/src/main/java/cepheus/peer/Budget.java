package cepheus.peer;

/**
 * Per-case time budget for the differential-test mode. Some patterns make FlinkCEP's NFA grow
 * exponentially (e.g. allowCombinations over many events); rather than stall a batch of
 * thousands of cases, every condition evaluation and every emitted match ticks this budget and
 * the case fails with {@link BudgetExceeded} once its deadline has passed. Some of FlinkCEP's own
 * loops (e.g. pruning partial matches) call none of our code, so Main also stops a case's worker
 * thread if it overruns the budget by a grace period. Disabled in bench mode.
 */
public final class Budget {
    private Budget() {}

    /** Thrown from inside FlinkCEP callbacks when the current case is over budget. */
    public static final class BudgetExceeded extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BudgetExceeded(String msg) {
            super(msg, null, false, false);
        }
    }

    private static boolean enabled;
    private static long deadlineNanos;
    private static long budgetMs;
    private static int counter;

    public static void start(long ms) {
        enabled = ms > 0;
        budgetMs = ms;
        deadlineNanos = System.nanoTime() + ms * 1_000_000L;
        counter = 0;
    }

    public static void stop() {
        enabled = false;
    }

    public static String message(long ms) {
        return "BudgetExceeded: case exceeded its time budget of " + ms + " ms";
    }

    public static void tick() {
        if (enabled && (++counter & 1023) == 0 && System.nanoTime() - deadlineNanos > 0) {
            enabled = false;
            throw new BudgetExceeded("case exceeded its time budget of " + budgetMs + " ms");
        }
    }
}
