package cepheus.peer.window;

import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.state.ReducingState;
import org.apache.flink.api.common.state.ReducingStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.Window;

/**
 * Observes, does not decide: wraps the assigner's own trigger ({@code EventTimeTrigger}) and
 * returns exactly what it returns, and in addition keeps a "has fired" flag per window in the
 * trigger's partitioned state, so that the peer can say whether a firing is an update.
 *
 * <p>The flag is a {@code ReducingState<Boolean>} (OR), so Flink itself carries it the way it
 * carries trigger state: merged into the new window when session windows merge
 * ({@code onMerge} → {@code mergePartitionedState}), removed with the window at its cleanup time
 * ({@code clear}). A firing is an update iff the flag was already set: this window, or a window it
 * absorbed, fired before and its contents are still here.
 */
final class FiredFlagTrigger<W extends Window> extends Trigger<Object, W> {
    private static final long serialVersionUID = 1L;

    /** Set by {@link #onFire} just before the operator calls the window function. */
    static Boolean pendingUpdate;

    private final Trigger<Object, W> inner;

    private static final class Or implements ReduceFunction<Boolean> {
        private static final long serialVersionUID = 1L;

        @Override
        public Boolean reduce(Boolean a, Boolean b) {
            return a || b;
        }
    }

    private final ReducingStateDescriptor<Boolean> firedDesc =
            new ReducingStateDescriptor<>("cepheus-peer-fired", new Or(), Types.BOOLEAN);

    FiredFlagTrigger(Trigger<Object, W> inner) {
        this.inner = inner;
    }

    private TriggerResult onFire(TriggerResult r, TriggerContext ctx) throws Exception {
        if (r.isFire()) {
            ReducingState<Boolean> fired = ctx.getPartitionedState(firedDesc);
            Boolean before = fired.get();
            pendingUpdate = before != null && before;
            fired.add(true);
        }
        return r;
    }

    @Override
    public TriggerResult onElement(Object element, long timestamp, W window, TriggerContext ctx) throws Exception {
        return onFire(inner.onElement(element, timestamp, window, ctx), ctx);
    }

    @Override
    public TriggerResult onEventTime(long time, W window, TriggerContext ctx) throws Exception {
        return onFire(inner.onEventTime(time, window, ctx), ctx);
    }

    @Override
    public TriggerResult onProcessingTime(long time, W window, TriggerContext ctx) throws Exception {
        return onFire(inner.onProcessingTime(time, window, ctx), ctx);
    }

    @Override
    public boolean canMerge() {
        return inner.canMerge();
    }

    @Override
    public void onMerge(W window, OnMergeContext ctx) throws Exception {
        inner.onMerge(window, ctx);
        ctx.mergePartitionedState(firedDesc);
    }

    @Override
    public void clear(W window, TriggerContext ctx) throws Exception {
        inner.clear(window, ctx);
        ctx.getPartitionedState(firedDesc).clear();
    }

    @Override
    public String toString() {
        return "FiredFlag(" + inner + ")";
    }
}
