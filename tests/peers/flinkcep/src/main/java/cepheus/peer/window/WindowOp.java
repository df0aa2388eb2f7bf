package cepheus.peer.window;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.io.disk.iomanager.IOManagerAsync;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.operators.testutils.MockInputSplitProvider;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.GlobalWindows;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.evictors.CountEvictor;
import org.apache.flink.streaming.api.windowing.triggers.CountTrigger;
import org.apache.flink.streaming.api.windowing.triggers.PurgingTrigger;
import org.apache.flink.streaming.api.windowing.windows.Window;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperator;
import org.apache.flink.streaming.runtime.operators.windowing.WindowOperatorBuilder;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.lang.reflect.Field;
import java.time.Duration;

/**
 * Builds Flink's own window operator exactly as {@code keyedStream.window(assigner)
 * [.evictor(..)][.trigger(..)].allowedLateness(..).process(fn)} (or {@code .aggregate(..)})
 * does — {@code WindowedStream} delegates to {@link WindowOperatorBuilder}, and so does this
 * class — and runs it in Flink's keyed one-input operator test harness with a heap
 * ({@code HashMapStateBackend}) state backend, max parallelism 128, one subtask.
 *
 * <ul>
 *   <li>{@code tumbling}: {@code TumblingEventTimeWindows.of(size)}, default trigger
 *       ({@code EventTimeTrigger}).
 *   <li>{@code sliding}: {@code SlidingEventTimeWindows.of(size, slide)}, {@code EventTimeTrigger}.
 *   <li>{@code session}: {@code EventTimeSessionWindows.withGap(gap)}, {@code EventTimeTrigger}
 *       (a merging assigner: {@code MergingWindowSet}).
 *   <li>{@code count} without slide: {@code KeyedStream.countWindow(size)} = {@code GlobalWindows}
 *       + {@code PurgingTrigger.of(CountTrigger.of(size))}.
 *   <li>{@code count} with slide: {@code KeyedStream.countWindow(size, slide)} =
 *       {@code GlobalWindows} + {@code CountEvictor.of(size)} + {@code CountTrigger.of(slide)}
 *       (an {@code EvictingWindowOperator}).
 * </ul>
 */
public final class WindowOp {
    private WindowOp() {}

    static final int MAX_PARALLELISM = Integer.getInteger("peer.maxParallelism", 128);

    /** One IOManager for all harnesses of the process (the window operator never spills). */
    private static final IOManagerAsync SHARED_IO =
            new IOManagerAsync() {
                @Override
                public void close() {
                    // shared for the life of the JVM
                }
            };

    /** Partition by the event's key. */
    public static final class ByKey implements KeySelector<WEvent, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(WEvent value) {
            return value.key;
        }
    }

    /** A window definition, parsed from a case's {@code "window"}. */
    public static final class Spec {
        public final String kind;
        public final long sizeMs, slideMs, gapMs, size;
        public final Long slide;

        Spec(String kind, long sizeMs, long slideMs, long gapMs, long size, Long slide) {
            this.kind = kind;
            this.sizeMs = sizeMs;
            this.slideMs = slideMs;
            this.gapMs = gapMs;
            this.size = size;
            this.slide = slide;
        }

        public boolean isCount() {
            return kind.equals("count");
        }

        public static Spec parse(JsonNode w) {
            if (w == null || !w.isObject()) {
                throw new IllegalArgumentException("\"window\" must be an object");
            }
            String kind = w.path("kind").asText("");
            switch (kind) {
                case "tumbling":
                    return new Spec(kind, req(w, "size_ms"), 0, 0, 0, null);
                case "sliding":
                    return new Spec(kind, req(w, "size_ms"), req(w, "slide_ms"), 0, 0, null);
                case "session":
                    return new Spec(kind, 0, 0, req(w, "gap_ms"), 0, null);
                case "count": {
                    JsonNode s = w.get("slide");
                    Long slide = s == null || s.isNull() ? null : s.asLong();
                    return new Spec(kind, 0, 0, 0, req(w, "size"), slide);
                }
                default:
                    throw new IllegalArgumentException("unknown window kind '" + kind + "'");
            }
        }

        /** Parses the bench's short form: tumbling:60000, sliding:300000:1000, session:G, count:N[:M]. */
        public static Spec parseShort(String s) {
            String[] p = s.split(":");
            switch (p[0]) {
                case "tumbling":
                    return new Spec(p[0], Long.parseLong(p[1]), 0, 0, 0, null);
                case "sliding":
                    return new Spec(p[0], Long.parseLong(p[1]), Long.parseLong(p[2]), 0, 0, null);
                case "session":
                    return new Spec(p[0], 0, 0, Long.parseLong(p[1]), 0, null);
                case "count":
                    return new Spec(p[0], 0, 0, 0, Long.parseLong(p[1]), p.length > 2 ? Long.parseLong(p[2]) : null);
                default:
                    throw new IllegalArgumentException("unknown window kind '" + p[0] + "'");
            }
        }

        private static long req(JsonNode w, String f) {
            JsonNode n = w.get(f);
            if (n == null || !n.canConvertToLong()) {
                throw new IllegalArgumentException("window." + f + " is required (an integer)");
            }
            return n.asLong();
        }

        @Override
        public String toString() {
            switch (kind) {
                case "tumbling":
                    return "tumbling " + sizeMs + "ms";
                case "sliding":
                    return "sliding " + sizeMs + "ms every " + slideMs + "ms";
                case "session":
                    return "session gap " + gapMs + "ms";
                default:
                    return "count " + size + (slide == null ? "" : " every " + slide);
            }
        }
    }

    /**
     * What {@code keyedStream.window(..)[.evictor][.trigger].allowedLateness(..)} sets up: a
     * {@link WindowOperatorBuilder} with the assigner's default trigger, replaced for count windows
     * as {@code KeyedStream.countWindow} does.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static WindowOperatorBuilder<WEvent, String, Window> builder(
            Spec spec, long allowedLatenessMs, boolean observeFirings) {
        WindowAssigner assigner;
        switch (spec.kind) {
            case "tumbling":
                assigner = TumblingEventTimeWindows.of(Duration.ofMillis(spec.sizeMs));
                break;
            case "sliding":
                assigner = SlidingEventTimeWindows.of(Duration.ofMillis(spec.sizeMs), Duration.ofMillis(spec.slideMs));
                break;
            case "session":
                assigner = EventTimeSessionWindows.withGap(Duration.ofMillis(spec.gapMs));
                break;
            case "count":
                assigner = GlobalWindows.create();
                break;
            default:
                throw new IllegalArgumentException(spec.kind);
        }
        WindowOperatorBuilder b =
                new WindowOperatorBuilder(
                        assigner,
                        assigner.getDefaultTrigger(),
                        new ExecutionConfig(),
                        WEventTypeInfo.INSTANCE,
                        new ByKey(),
                        Types.STRING);
        if (!spec.isCount() && observeFirings) {
            b.trigger(new FiredFlagTrigger(assigner.getDefaultTrigger()));
        }
        if (spec.isCount()) {
            if (spec.slide == null) {
                b.trigger(PurgingTrigger.of(CountTrigger.of(spec.size)));
            } else {
                b.evictor(CountEvictor.of(spec.size));
                b.trigger(CountTrigger.of(spec.slide));
            }
        }
        b.allowedLateness(Duration.ofMillis(allowedLatenessMs));
        return b;
    }

    /**
     * {@code .process(fn)}: the window's elements are buffered, the function sees them all. With
     * {@code observeFirings}, time windows' trigger is wrapped in {@link FiredFlagTrigger} (same
     * decisions; it only records whether a firing is an update).
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <OUT> Op<OUT> openProcess(
            Spec spec,
            long allowedLatenessMs,
            boolean observeFirings,
            ProcessWindowFunction<WEvent, OUT, String, ? extends Window> fn)
            throws Exception {
        WindowOperatorBuilder<WEvent, String, Window> b = builder(spec, allowedLatenessMs, observeFirings);
        WindowOperator<String, WEvent, ?, OUT, Window> op = b.process((ProcessWindowFunction) fn);
        return open(op);
    }

    /** {@code .aggregate(agg, fn)}: one accumulator per key and window, updated per element. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <ACC, V, OUT> Op<OUT> openAggregate(
            Spec spec,
            long allowedLatenessMs,
            AggregateFunction<WEvent, ACC, V> agg,
            TypeInformation<ACC> accType,
            ProcessWindowFunction<V, OUT, String, ? extends Window> fn)
            throws Exception {
        WindowOperatorBuilder<WEvent, String, Window> b = builder(spec, allowedLatenessMs, false);
        WindowOperator<String, WEvent, ?, OUT, Window> op = b.aggregate(agg, (ProcessWindowFunction) fn, accType);
        return open(op);
    }

    static <OUT> Op<OUT> open(WindowOperator<String, WEvent, ?, OUT, Window> op) throws Exception {
        MockEnvironment env =
                new MockEnvironmentBuilder()
                        .setTaskName("cepheus-window-peer")
                        .setManagedMemorySize(3 * 1024 * 1024)
                        .setInputSplitProvider(new MockInputSplitProvider())
                        .setBufferSize(1024)
                        .setMaxParallelism(MAX_PARALLELISM)
                        .setParallelism(1)
                        .setSubtaskIndex(0)
                        .setIOManager(SHARED_IO)
                        .build();
        KeyedOneInputStreamOperatorTestHarness<String, WEvent, OUT> h;
        try {
            h = new KeyedOneInputStreamOperatorTestHarness<>(op, new ByKey(), Types.STRING, env);
            h.setStateBackend(new HashMapStateBackend());
            h.open();
        } catch (Throwable t) {
            env.close();
            throw t;
        }
        return new Op<>(op, h, env);
    }

    private static final Field LATE_DROPPED;

    static {
        try {
            LATE_DROPPED = WindowOperator.class.getDeclaredField("numLateRecordsDropped");
            LATE_DROPPED.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** An open window operator in its harness. */
    public static final class Op<OUT> implements AutoCloseable {
        public final WindowOperator<String, WEvent, ?, OUT, Window> operator;
        public final KeyedOneInputStreamOperatorTestHarness<String, WEvent, OUT> harness;
        private final MockEnvironment env;
        private final Counter lateDropped;

        Op(
                WindowOperator<String, WEvent, ?, OUT, Window> operator,
                KeyedOneInputStreamOperatorTestHarness<String, WEvent, OUT> harness,
                MockEnvironment env)
                throws IllegalAccessException {
            this.operator = operator;
            this.harness = harness;
            this.env = env;
            this.lateDropped = (Counter) LATE_DROPPED.get(operator);
        }

        public void element(WEvent e) throws Exception {
            harness.processElement(new StreamRecord<>(e, e.ts));
        }

        public void watermark(long ts) throws Exception {
            harness.processWatermark(new Watermark(ts));
        }

        /**
         * The operator's own {@code numLateRecordsDropped} metric: elements whose every window was
         * already past its cleanup time (end + allowed lateness) and which were themselves late.
         */
        public long lateDropped() {
            return lateDropped.getCount();
        }

        @Override
        public void close() throws Exception {
            try {
                harness.close();
            } finally {
                env.close();
            }
        }
    }
}
