package io.behaviorcep.testing;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/** Polling with a deadline instead of sleeping a fixed time: returns as soon as the condition holds. */
public final class Await {
    private static final long PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private Await() {}

    /** Calls {@code probe} until {@code done} accepts its result; the last result is returned, or the last one is reported on timeout. */
    public static <T> T until(String what, Duration timeout, Callable<T> probe, Predicate<T> done) {
        long deadline = System.nanoTime() + timeout.toNanos();
        T last = null;
        Exception lastError = null;
        while (true) {
            try {
                last = probe.call();
                lastError = null;
                if (done.test(last)) return last;
            } catch (Exception e) {
                lastError = e;
            }
            if (System.nanoTime() > deadline) {
                AssertionError err = new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                        + (lastError != null ? " (last error: " + lastError + ")" : "; last seen: " + last));
                if (lastError != null) err.initCause(lastError);
                throw err;
            }
            LockSupport.parkNanos(PAUSE_NANOS);
        }
    }

    public static void until(String what, Duration timeout, Callable<Boolean> condition) {
        until(what, timeout, condition, Boolean.TRUE::equals);
    }
}
